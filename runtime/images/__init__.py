"""The image modality: loading, checking, preprocessing and augmenting images, shared by every back end.

One image is a ``uint8`` array of shape ``(height, width, channels)`` (channels 1 for grey, 3 for RGB),
of the one size and channel count a project fixes when it loads its data; a frame holds one image per
row in its ``image`` column (the label in the target column, the file's path as the row's index).
A batch fed to a model is a ``float32`` tensor ``N×C×H×W`` of pixels scaled to [0, 1]
(:func:`~aispec.runtime.images.decode.to_tensor`); every exported graph takes that tensor as its one
input, named ``image``, and standardises it inside (per-channel mean and standard deviation of the
training split), so the service feeds the same tensor whatever the model.

- :mod:`.decode`: format by magic bytes, pixel count from the header before decoding, mode and size
  (Pillow and numpy only: the service imports it);
- :mod:`.folder`: an ``image_folder`` source or the bundled digits as a frame, with what was removed;
- :mod:`.standardize`: the scikit-learn step that standardises (and flattens) the tensor, and its
  ONNX converter;
- :mod:`.augment`: flips, rotations, crops and colour jitter on the training split.

Nothing here is imported by ``aispec check`` or ``build``.
"""

from __future__ import annotations

IMAGE_COLUMN = "image"
INPUT_NAME = "image"  # the ONNX graph's input

__all__ = ["IMAGE_COLUMN", "INPUT_NAME"]
