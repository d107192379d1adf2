"""A police office's node, in layers (see docs/layout.md): records -> index -> station ->
web | peers -> runtime, with the configuration below them all and the demos beside."""
