"""One module per dashboard tab (its layout and its callbacks), and what the tabs share: the tick / load
protocol (``reloading``) and the layer picker."""
