"""Our Breakout's rules, observation, seeding and picture; make_env and its errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rl.envs.breakout as B
from rl import telemetry as T
from rl.envs import (
    BREAKOUT_ID,
    BreakoutEnv,
    EnvError,
    action_names,
    action_space_info,
    feature_names,
    make_env,
)

LEFT, STAY, RIGHT = B.LEFT, B.STAY, B.RIGHT


@pytest.fixture
def env():
    e = BreakoutEnv()
    e.reset(seed=0)
    return e


def no_bricks(e):
    return np.zeros_like(e.bricks)


def corner_brick_only(e):
    """Only the top-left brick stands: the board is open, the game is not over."""
    bricks = np.zeros_like(e.bricks)
    bricks[0, 0] = True
    return bricks


# ----------------------------------------------------------------- registration, spaces
def test_registered_id_builds_breakout_with_named_features():
    e = make_env(BREAKOUT_ID, seed=1)
    assert isinstance(e.unwrapped, BreakoutEnv)
    assert e.action_space == gym.spaces.Discrete(3)
    obs, _ = e.reset()
    assert obs.dtype == np.float32 and obs.shape == e.observation_space.shape == (17,)
    names = feature_names(e)
    assert len(names) == obs.shape[0]
    assert names[:5] == ["ball x", "ball y", "ball vx", "ball vy", "paddle x"]
    assert names[5:] == [f"brick {i}" for i in range(1, 13)]
    assert action_names(e) == ["LEFT", "STAY", "RIGHT"]


def test_passes_gymnasium_env_checker():
    check_env(BreakoutEnv(), skip_render_check=True)


def test_brick_wall_size_sets_observation_length():
    e = gym.make(BREAKOUT_ID, n_rows=3, n_cols=8)
    obs, _ = e.reset(seed=0)
    assert obs.shape == (5 + 24,) and len(feature_names(e)) == 29


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="render_mode"):
        BreakoutEnv(render_mode="human")
    with pytest.raises(ValueError, match="brick wall"):
        BreakoutEnv(n_rows=0)
    with pytest.raises(ValueError, match="action"):
        BreakoutEnv().step(3)


# ----------------------------------------------------------------- observation
def test_observation_matches_state(env):
    bricks = no_bricks(env)
    bricks[0, 2] = True
    obs = env.set_state(ball=(40.0, 90.0, -3.0, 4.0), paddle_x=100.0, bricks=bricks)
    expected = [40 / B.WIDTH, 90 / B.HEIGHT, -3 / B.BALL_SPEED, 4 / B.BALL_SPEED, 100 / B.WIDTH]
    np.testing.assert_allclose(obs[:5], expected, rtol=1e-6)
    np.testing.assert_array_equal(obs[5:], bricks.ravel().astype(np.float32))
    assert env.observation_space.contains(obs)


def test_reset_restores_wall_and_launches_ball_down(env):
    env.set_state(bricks=no_bricks(env))
    obs, info = env.reset(seed=3)
    assert info["bricks_left"] == 12 and np.all(obs[5:] == 1.0)
    assert obs[3] > 0, "the ball starts falling towards the paddle"
    assert obs[4] == pytest.approx(0.5)
    assert np.hypot(obs[2], obs[3]) == pytest.approx(1.0, abs=1e-6)


# ----------------------------------------------------------------- actions
def test_actions_move_the_paddle(env):
    env.set_state(ball=(80.0, 60.0, 0.0, -B.BALL_SPEED), paddle_x=80.0)
    env.step(LEFT)
    assert env.paddle_x == pytest.approx(80.0 - B.PADDLE_SPEED)
    env.step(STAY)
    assert env.paddle_x == pytest.approx(80.0 - B.PADDLE_SPEED)
    obs, *_ = env.step(RIGHT)
    env.step(RIGHT)
    assert env.paddle_x == pytest.approx(80.0 + B.PADDLE_SPEED)
    assert obs[4] == pytest.approx(80.0 / B.WIDTH)


def test_paddle_stops_at_the_walls(env):
    half = B.PADDLE_WIDTH / 2
    env.set_state(ball=(80.0, 60.0, 0.0, -B.BALL_SPEED), paddle_x=half + 1)
    env.step(LEFT)
    assert env.paddle_x == pytest.approx(half)
    env.set_state(paddle_x=B.WIDTH - half - 1)
    env.step(RIGHT)
    assert env.paddle_x == pytest.approx(B.WIDTH - half)


# ----------------------------------------------------------------- ball physics
def test_ball_bounces_off_side_walls(env):
    env.set_state(ball=(2.0, 60.0, -4.0, -3.0), bricks=corner_brick_only(env))
    *_, terminated, _, _ = env.step(STAY)
    assert not terminated
    assert env.ball_vx == 4.0 and env.ball_x >= B.BALL_RADIUS
    env.set_state(ball=(B.WIDTH - 2.0, 60.0, 4.0, -3.0))
    env.step(STAY)
    assert env.ball_vx == -4.0 and env.ball_x <= B.WIDTH - B.BALL_RADIUS


def test_ball_bounces_off_top_wall(env):
    env.set_state(ball=(80.0, 3.0, 1.0, -5.0), bricks=corner_brick_only(env))
    _, reward, terminated, _, _ = env.step(STAY)
    assert env.ball_vy == 5.0 and env.ball_y >= B.BALL_RADIUS
    assert reward == 0.0 and not terminated


def test_paddle_returns_ball_and_is_rewarded():
    e = BreakoutEnv(paddle_reward=0.25)
    e.reset(seed=0)
    y = B.PADDLE_Y - B.BALL_RADIUS - 2.0  # two units above the paddle, falling
    e.set_state(ball=(80.0, y, 0.0, B.BALL_SPEED), paddle_x=80.0)
    _, reward, terminated, _, info = e.step(STAY)
    assert e.ball_vy < 0, "the ball now goes up"
    assert e.ball_vx == pytest.approx(0.0, abs=1e-9), "a centre hit goes straight up"
    assert reward == pytest.approx(0.25) and info["paddle_hits"] == 1
    assert not terminated
    # a hit on the right half of the paddle sends the ball to the right, at the same speed
    e.set_state(ball=(88.0, y, 0.0, B.BALL_SPEED), paddle_x=80.0)
    e.step(STAY)
    assert e.ball_vx > 0 and e.ball_vy < 0
    assert np.hypot(e.ball_vx, e.ball_vy) == pytest.approx(B.BALL_SPEED)


def test_brick_is_removed_and_rewarded_on_hit(env):
    # the ball rises into the bottom row, column 2 (0-based), from below
    col_centre = 2.5 * env.brick_width
    below = env.brick_bottom + B.BALL_RADIUS + 1.0
    env.set_state(ball=(col_centre, below, 0.0, -B.BALL_SPEED))
    obs, reward, terminated, _, info = env.step(STAY)
    row = env.n_rows - 1
    assert not env.bricks[row, 2]
    assert obs[5 + row * env.n_cols + 2] == 0.0
    assert reward == pytest.approx(env.brick_reward)
    assert info["bricks_left"] == 11 and env.score == pytest.approx(1.0)
    assert env.ball_vy > 0, "it bounces back down"
    assert not terminated
    assert env.bricks.sum() == 11, "exactly one brick per hit"


def test_ball_hitting_a_brick_side_bounces_sideways(env):
    bricks = no_bricks(env)
    bricks[1, 3] = True  # one brick in the bottom row; the ball comes from its left
    left_edge = 3 * env.brick_width
    y_mid = B.BRICK_TOP + 1.5 * B.BRICK_HEIGHT
    env.set_state(ball=(left_edge - B.BALL_RADIUS - 1.0, y_mid, 3.0, 0.5), bricks=bricks)
    _, reward, terminated, _, _ = env.step(STAY)
    assert reward == pytest.approx(1.0) and env.ball_vx < 0 and env.ball_vy > 0
    assert terminated, "that was the last brick"


def test_episode_ends_when_ball_is_lost(env):
    env.set_state(ball=(20.0, B.PADDLE_Y - 3.0, 0.0, B.BALL_SPEED), paddle_x=140.0)
    obs, reward, terminated, truncated, _ = env.step(STAY)
    assert terminated and not truncated
    assert reward == 0.0


def test_lose_reward_is_paid_when_the_ball_is_lost():
    e = BreakoutEnv(lose_reward=-1.0)
    e.reset(seed=0)
    e.set_state(ball=(20.0, B.PADDLE_Y - 3.0, 0.0, B.BALL_SPEED), paddle_x=140.0)
    _, reward, terminated, _, info = e.step(STAY)
    assert terminated and reward == -1.0 and info["score"] == -1.0


def test_episode_is_truncated_at_the_step_limit():
    e = gym.make(BREAKOUT_ID, max_steps=3)
    e.reset(seed=0)
    results = [e.step(STAY) for _ in range(3)]  # the ball starts 50 units above the paddle
    assert [r[3] for r in results] == [False, False, True]
    assert not any(r[2] for r in results)


def test_a_ball_tracking_policy_scores_far_above_random():
    """The game is winnable with the information in the observation."""
    e = make_env(BREAKOUT_ID, seed=0)
    rng = np.random.default_rng(0)

    def play(policy):
        obs, _ = e.reset()
        done, score = False, 0.0
        while not done:
            obs, r, term, trunc, _ = e.step(policy(obs))
            score, done = score + r, term or trunc
        return score

    random_scores = [play(lambda o: int(rng.integers(3))) for _ in range(30)]
    tracker_scores = [
        play(lambda o: LEFT if o[0] < o[4] - 0.02 else RIGHT if o[0] > o[4] + 0.02 else STAY) for _ in range(5)
    ]
    assert np.mean(random_scores) < 1.5
    assert np.mean(tracker_scores) > 10.0


# ----------------------------------------------------------------- seeding
def _rollout(seed, actions):
    e = make_env(BREAKOUT_ID)
    obs, _ = e.reset(seed=seed)
    trace = [obs]
    for a in actions:
        obs, r, term, trunc, _ = e.step(a)
        trace.append(np.append(obs, r))
        if term or trunc:
            trace.append(e.reset()[0])
    return np.concatenate(trace)


def test_seeding_is_deterministic():
    actions = np.random.default_rng(5).integers(0, 3, size=300)
    np.testing.assert_array_equal(_rollout(7, actions), _rollout(7, actions))
    assert not np.array_equal(_rollout(7, actions), _rollout(8, actions))


def test_make_env_seed_makes_later_resets_reproducible():
    a, b = make_env(BREAKOUT_ID, seed=11), make_env(BREAKOUT_ID, seed=11)
    for _ in range(3):
        np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    assert a.action_space.sample() == b.action_space.sample()


# ----------------------------------------------------------------- render
def test_render_is_an_rgb_image_with_distinct_objects():
    e = make_env(BREAKOUT_ID, seed=0, render_mode="rgb_array")
    e.unwrapped.set_state(ball=(40.0, 70.0, 0.0, B.BALL_SPEED), paddle_x=120.0)
    img = e.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape == (240, 320, 3)

    def count(colour):
        return int(np.all(img == np.array(colour, dtype=np.uint8), axis=-1).sum())

    s = e.unwrapped.render_scale
    assert count(B.BALL) == (2 * B.BALL_RADIUS * s) ** 2
    assert count(B.PADDLE) == B.PADDLE_WIDTH * s * B.PADDLE_HEIGHT * s
    # the paddle is drawn where the state says
    cols = np.nonzero(np.all(img == np.array(B.PADDLE, dtype=np.uint8), axis=-1))[1]
    assert cols.min() == (120 - B.PADDLE_WIDTH / 2) * s
    top_row = count(B.BRICK_COLOURS[0])
    assert top_row > 0 and count(B.BRICK_COLOURS[1]) > 0
    bricks = e.unwrapped.bricks.copy()
    bricks[0, :3] = False
    e.unwrapped.set_state(bricks=bricks)
    assert count_after(e, B.BRICK_COLOURS[0]) == top_row // 2


def count_after(e, colour):
    img = e.render()
    return int(np.all(img == np.array(colour, dtype=np.uint8), axis=-1).sum())


def test_render_without_mode_returns_none_and_scale_sets_size():
    assert make_env(BREAKOUT_ID, seed=0).render() is None
    small = BreakoutEnv(render_mode="rgb_array", render_scale=1)
    small.reset(seed=0)
    assert small.render().shape == (120, 160, 3)


# ----------------------------------------------------------------- make_env
def test_make_env_unknown_id_is_a_one_line_env_error():
    with pytest.raises(EnvError) as info:
        make_env("neurodash/NoSuchGame-v0")
    message = str(info.value)
    assert "neurodash/NoSuchGame-v0" in message and "\n" not in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(EnvError, match="non-empty"):
        make_env("")


def test_continuous_actions_are_named_but_the_dqn_agent_refuses_them_before_training():
    from rl.worker import train

    pendulum = make_env("Pendulum-v1", seed=0)  # the environment is fine; the agent says no
    assert action_names(pendulum) == ["torque"]  # one number per action, named
    assert action_space_info(pendulum.action_space) == T.ActionSpace("box", shape=[1], low=[-2.0], high=[2.0])
    assert action_space_info(make_env(BREAKOUT_ID).action_space) == T.ActionSpace("discrete", n=3)
    with pytest.raises(EnvError) as info:
        train("Pendulum-v1", "dqn", 10, telemetry=False)
    message = str(info.value)
    assert message.startswith("environment 'Pendulum-v1' has a continuous action space")
    assert "the DQN agent needs a discrete one" in message and "--agent sac" in message
    assert "\n" not in message


def test_make_env_refuses_non_vector_observations():
    with pytest.raises(EnvError, match="flat vector"):
        make_env("FrozenLake-v1")


def test_other_gymnasium_envs_get_readable_names():
    cartpole = make_env("CartPole-v1", seed=0)
    assert feature_names(cartpole) == ["cart position", "cart velocity", "pole angle", "pole angular velocity"]
    assert action_names(cartpole) == ["push left", "push right"]
    acrobot = make_env("Acrobot-v1", seed=0)
    assert len(feature_names(acrobot)) == 6 and len(action_names(acrobot)) == 3


def test_unknown_envs_get_generic_names():
    from gymnasium.envs.classic_control import CartPoleEnv

    bare = CartPoleEnv()  # no spec: nothing tells us its names
    assert feature_names(bare) == ["x0", "x1", "x2", "x3"]
    assert action_names(bare) == ["action 0", "action 1"]
