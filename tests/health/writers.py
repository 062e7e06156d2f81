"""Fixture writers for the health tests: small networks with known properties, saved in
every checkpoint format the health package reads (and in the bad ways it must refuse)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn


# ----------------------------------------------------------------------------- networks
def heavy_tailed(n_out: int, n_in: int, alpha: float, seed: int, cap: float | None = None) -> torch.Tensor:
    """A weight matrix whose eigenvalues (of W^T W) follow a power law with exponent
    ~alpha (Pareto tail), i.e. the spectrum of a layer WeightWatcher calls trained.
    ``cap`` bounds the largest/smallest eigenvalue ratio (a shorter tail, so a higher
    stable rank: cap=5 gives ~40 % of full rank)."""
    rng = np.random.default_rng(seed)
    k = min(n_out, n_in)
    if cap is None:
        lam = (rng.pareto(alpha - 1, size=k) + 1.0) * 0.05
    else:  # inverse-CDF sampling of the power law, truncated at cap
        q = rng.uniform(0, 1 - cap ** (-(alpha - 1)), size=k)
        lam = (1 - q) ** (-1 / (alpha - 1)) * 0.05
    u, _ = np.linalg.qr(rng.standard_normal((n_out, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n_in, k)))
    return torch.tensor((u * np.sqrt(lam)) @ v.T, dtype=torch.float32)


def mlp(
    sizes: list[int], seed: int = 0, act=nn.ReLU, alpha: float | None = None, cap: float | None = None
) -> nn.Sequential:
    """Linear layers of the given sizes with ``act`` between them (PyTorch's default init,
    or heavy-tailed weights with exponent ``alpha`` for every layer)."""
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        if alpha is not None:
            with torch.no_grad():
                lin.weight.copy_(heavy_tailed(sizes[i + 1], sizes[i], alpha, seed * 100 + i, cap))
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(act())
    return nn.Sequential(*mods)


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def named_state_dict(model: nn.Module, names: list[str]) -> OrderedDict[str, torch.Tensor]:
    """The model's Linear layers under readable names (``fc1``, ``fc2``, ``q_out``)."""
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, lin in zip(names, linears(model)):
        sd[f"{name}.weight"] = lin.weight.detach().clone()
        if lin.bias is not None:
            sd[f"{name}.bias"] = lin.bias.detach().clone()
    return sd


def ww_details(model: nn.Module):
    """WeightWatcher's own analyze() table for ``model`` (defaults), quietly."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import weightwatcher as ww

        return ww.WeightWatcher(model=model, log_level=logging.ERROR).analyze()


def ww_summary(model: nn.Module) -> dict:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import weightwatcher as ww

        watcher = ww.WeightWatcher(model=model, log_level=logging.ERROR)
        watcher.analyze()
        return watcher.get_summary()


# ----------------------------------------------------------------------------- formats
def write_ours(
    path: Path,
    model: nn.Sequential,
    *,
    names=None,
    activation="relu",
    step=50_000,
    env_id="neurodash/Breakout-v0",
    obs_samples=None,
    target: nn.Module | None = None,
) -> Path:
    """Our run checkpoint format, as rl/checkpoints.py writes it."""
    lins = linears(model)
    names = names or [f"fc{i + 1}" for i in range(len(lins) - 1)] + ["q_out"]
    layers = []
    for i, (name, lin) in enumerate(zip(names, lins)):
        layers.append(
            {
                "name": name,
                "in_features": lin.in_features,
                "out_features": lin.out_features,
                "activation": activation if i < len(lins) - 1 else None,
            }
        )
    ckpt = {
        "format": "neurodash-checkpoint",
        "version": 1,
        "step": step,
        "env_id": env_id,
        "agent": "dqn",
        "config": {"hidden_sizes": [lin.out_features for lin in lins[:-1]], "learning_rate": 1e-3},
        "networks": {
            "q_network": named_state_dict(model, names),
            "target_network": named_state_dict(target or model, names),
        },
        "layers": layers,
        "feature_names": [f"x{i}" for i in range(lins[0].in_features)],
        "action_names": [f"action {i}" for i in range(lins[-1].out_features)],
    }
    if obs_samples is not None:
        ckpt["obs_samples"] = torch.as_tensor(obs_samples, dtype=torch.float32)
    torch.save(ckpt, path)
    return path


def write_state_dict(path: Path, model: nn.Module) -> Path:
    torch.save(model.state_dict(), path)
    return path


def write_sac(path: Path, nets: dict[str, nn.Module], **meta) -> Path:
    """SAC-style: several networks' state dicts next to metadata and optimizer states."""
    ckpt: dict = {name: net.state_dict() for name, net in nets.items()}
    first = next(iter(nets.values()))
    ckpt["actor_optimizer"] = torch.optim.Adam(first.parameters()).state_dict()
    ckpt.update(meta)
    torch.save(ckpt, path)
    return path


def sb3_policy_state_dict(layout: str, obs_dim: int = 8, n_actions: int = 3, hidden: int = 64, seed: int = 0):
    """A policy state dict laid out like Stable-Baselines3's (DQN, SAC or PPO)."""
    torch.manual_seed(seed)
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()

    def lin(prefix, n_in, n_out):
        layer = nn.Linear(n_in, n_out)
        sd[f"{prefix}.weight"] = layer.weight.detach().clone()
        sd[f"{prefix}.bias"] = layer.bias.detach().clone()

    if layout == "dqn":
        for net in ("q_net", "q_net_target"):
            lin(f"{net}.q_net.0", obs_dim, hidden)
            lin(f"{net}.q_net.2", hidden, hidden)
            lin(f"{net}.q_net.4", hidden, n_actions)
    elif layout == "sac":
        lin("actor.latent_pi.0", obs_dim, hidden)
        lin("actor.latent_pi.2", hidden, hidden)
        lin("actor.mu", hidden, n_actions)
        lin("actor.log_std", hidden, n_actions)
        for net in ("critic", "critic_target"):
            for q in ("qf0", "qf1"):
                lin(f"{net}.{q}.0", obs_dim + n_actions, hidden)
                lin(f"{net}.{q}.2", hidden, hidden)
                lin(f"{net}.{q}.4", hidden, 1)
    elif layout == "ppo":
        lin("mlp_extractor.policy_net.0", obs_dim, hidden)
        lin("mlp_extractor.policy_net.2", hidden, hidden)
        lin("mlp_extractor.value_net.0", obs_dim, hidden)
        lin("mlp_extractor.value_net.2", hidden, hidden)
        lin("action_net", hidden, n_actions)
        lin("value_net", hidden, 1)
        sd["log_std"] = torch.zeros(n_actions)
    else:
        raise ValueError(layout)
    return sd


def write_sb3_zip(
    path: Path,
    policy_state_dict=None,
    *,
    policy_bytes: bytes | None = None,
    extra: dict[str, bytes] | None = None,
    num_timesteps: int = 12_345,
    compression=zipfile.ZIP_DEFLATED,
) -> Path:
    """A Stable-Baselines3-style save built by hand (no stable-baselines3 needed):
    ``data`` (JSON), ``policy.pth`` (torch.save of the policy state dict),
    ``pytorch_variables.pth`` and ``_stable_baselines3_version``."""
    if policy_bytes is None:
        buf = io.BytesIO()
        torch.save(policy_state_dict, buf)
        policy_bytes = buf.getvalue()
    vars_buf = io.BytesIO()
    torch.save({}, vars_buf)
    data = {
        "policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": "gAWVAAAA", "__module__": "x"},
        "num_timesteps": num_timesteps,
        "learning_rate": 0.0001,
        "gamma": 0.99,
        "n_envs": 1,
    }
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("data", json.dumps(data))
        zf.writestr("policy.pth", policy_bytes)
        zf.writestr("pytorch_variables.pth", vars_buf.getvalue())
        zf.writestr("_stable_baselines3_version", "2.3.2")
        for name, payload in (extra or {}).items():
            zf.writestr(name, payload)
    return path


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


class MarkerPayload:
    """Unpickling this object opens (creates) ``marker`` -- code running on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))
