"""The node as the federation sees it (`peer_node`, `replica_index`) and as it asks other nodes
(`clients`). Never imported by `node.web`: the runtime wires the two."""
