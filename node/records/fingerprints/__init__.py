"""Fingerprints: minutiae read off a slip's image, Minutia Cylinder-Code templates, 1:1 matching
and the 1:N search of a gallery (docs/fingerprints.md).

`ridges` (the oriented Gabor filters the extractor and the synthetic generator share),
`minutiae` (an image to its minutiae), `mcc` (minutiae to cylinders, the template's bytes,
the 1:1 score), `gallery` (the enrolled templates, their locality-sensitive hash index and the
ranked 1:N search). Pure computation: no I/O, no ledger, no store.
"""
