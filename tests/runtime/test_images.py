"""The image modality's building blocks: decoding (format by bytes, pixel count before decoding), a folder
of real images with broken files in it, per-channel standardisation and its ONNX form, augmentation."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("PIL")

from PIL import Image

from aispec.runtime import data
from aispec.runtime.errors import DataError
from aispec.runtime.images.augment import augment_rows
from aispec.runtime.images.decode import ImageRejected, encode_png, open_image, read_image, sniff, to_tensor
from aispec.runtime.images.standardize import Standardize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from image_data import bomb_png, write_mnist_folder  # noqa: E402

LOCATIONS = {"data.source.path": "spec.yaml:9:11"}


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- decode


def test_the_format_is_read_from_the_bytes_not_the_name() -> None:
    png = encode_png(np.zeros((4, 4, 1), np.uint8))
    assert sniff(png) == "PNG" and sniff(b"\xff\xd8\xff\xe0rest") == "JPEG"
    for data_ in (b"GIF89a...", b"BM\x00\x00", b"", b"%PDF-1.7"):
        with pytest.raises(ImageRejected) as info:
            open_image(data_)
        assert info.value.status == 422


def test_pixels_round_trip_through_png_and_modes_convert_like_pillow() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(6, 5, 1), dtype=np.uint8)
    assert np.array_equal(read_image(encode_png(grey), channels=1, size=(6, 5)), grey)
    rgb = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    as_grey = read_image(encode_png(rgb), channels=1, size=(6, 5))
    assert np.array_equal(as_grey[:, :, 0], np.asarray(Image.fromarray(rgb).convert("L")))  # Pillow's ITU-R 601-2
    assert np.array_equal(read_image(encode_png(grey), channels=3, size=(6, 5)), np.repeat(grey, 3, axis=2))
    # resized with Pillow's bilinear filter, whatever the source size
    resized = read_image(encode_png(rgb), channels=3, size=(3, 10))
    expected = np.asarray(Image.fromarray(rgb).resize((10, 3), Image.Resampling.BILINEAR))
    assert np.array_equal(resized, expected)


def test_sixteen_bit_grey_and_transparency() -> None:
    wide = np.array([[0, 256, 65535]], dtype=np.uint16)
    sixteen = _png(Image.fromarray(wide))
    assert read_image(sixteen, channels=1, size=(1, 3))[0, :, 0].tolist() == [0, 1, 255]
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 0] = (200, 100, 50, 255)  # opaque
    rgba[0, 1] = (200, 100, 50, 0)  # transparent: over black
    out = read_image(_png(Image.fromarray(rgba)), channels=3, size=(1, 2))
    assert out[0, 0].tolist() == [200, 100, 50] and out[0, 1].tolist() == [0, 0, 0]


def test_too_many_pixels_are_refused_from_the_header() -> None:
    with pytest.raises(ImageRejected) as info:
        open_image(bomb_png(50_000, 50_000))
    assert info.value.status == 413 and info.value.kind == "pixels"
    with pytest.raises(ImageRejected) as info:
        open_image(bomb_png(300, 300), max_pixels=256 * 256)
    assert "90,000 pixels" in info.value.message and info.value.status == 413
    with pytest.raises(ImageRejected) as info:  # declared small, but the pixel data is missing
        open_image(bomb_png(8, 8))
    assert info.value.kind == "unreadable"


def test_the_tensor_is_n_c_h_w_float32_in_0_1() -> None:
    images = [np.full((2, 3, 3), v, np.uint8) for v in (0, 255)]
    tensor = to_tensor(images)
    assert tensor.shape == (2, 3, 2, 3) and tensor.dtype == np.float32
    assert tensor.min() == 0.0 and tensor.max() == 1.0


# ---------------------------------------------------------------------------------------------- folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mnist") / "images"
    write_mnist_folder(root, per_class=12)
    return root


def test_a_folder_of_real_images_with_broken_files(folder: Path) -> None:
    frame = data.load_frame({"kind": "image_folder", "path": "images"}, base_dir=folder.parent, target="digit",
                            locations=LOCATIONS)
    # 120 MNIST files + rgb.png + big.png; fake.png and truncated.png removed
    assert len(frame) == 122 and list(frame.columns) == ["image", "digit"]
    assert "3/fake.png" not in frame.index and "5/rgb.png" in frame.index and "0/002.jpg" in frame.index
    assert {v.shape for v in frame["image"]} == {(28, 28, 1)}  # most are grey and 28×28
    report = data.validate_frame(frame, columns=None, target="digit", task="image_classification", min_rows=20,
                                 locations=LOCATIONS)
    ledger = [(r.step, r.rows_in, r.rows_out) for r in report.rows]
    assert ledger == [("read", 124, 124), ("image files not PNG or JPEG by its bytes", 124, 123),
                      ("image files unreadable", 123, 122), ("resize", 122, 122)]
    assert "1 resized from another size, 1 converted" in report.rows[-1].detail
    warnings = "\n".join(report.warnings)
    assert "3/fake.png" in warnings and "4/truncated.png" in warnings and "spec.yaml:9:11" in warnings
    assert "class folder 'x' holds no readable image" in warnings
    assert "do not end in one of data.source.extensions" in warnings and "in no class folder" in warnings
    assert report.columns["image"].dtype == "image 28×28×1"
    # the JPEG's pixels are the JPEG decoder's, the PNG's exactly the file's
    png = np.asarray(Image.open(folder / "0" / "000.png"))
    assert np.array_equal(frame.loc["0/000.png", "image"][:, :, 0], png)


def test_image_size_and_extensions_are_honoured(folder: Path) -> None:
    frame = data.load_frame({"kind": "image_folder", "path": "images", "image_size": [14, 20],
                             "extensions": ["PNG"]}, base_dir=folder.parent, target="label")
    assert {v.shape for v in frame["image"]} == {(14, 20, 1)}
    assert not any(name.endswith(".jpg") for name in frame.index)


def test_folder_errors_name_the_spec_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="image folder not found") as info:
        data.load_frame({"kind": "image_folder", "path": "nope"}, base_dir=tmp_path, locations=LOCATIONS)
    assert info.value.where == "spec.yaml:9:11"
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(encode_png(np.zeros((2, 2, 1), np.uint8)))
    with pytest.raises(DataError, match="no class folders"):
        data.load_frame({"kind": "image_folder", "path": "flat"}, base_dir=tmp_path)
    (tmp_path / "junk" / "cat").mkdir(parents=True)
    (tmp_path / "junk" / "cat" / "a.png").write_text("text")
    with pytest.raises(DataError, match="no readable PNG or JPEG image"):
        data.load_frame({"kind": "image_folder", "path": "junk"}, base_dir=tmp_path)


def test_copies_are_found_by_their_pixels() -> None:
    """64×64 images differing in one middle pixel (their text form elides it) are different rows."""
    a = np.zeros((64, 64, 1), np.uint8)
    b = a.copy()
    b[32, 32, 0] = 1
    frame = pd.DataFrame({"image": pd.Series([a, b, a.copy()], dtype=object), "label": ["0", "0", "0"]})
    assert data.row_keys(frame).duplicated().tolist() == [False, False, True]


# ----------------------------------------------------------------------------------------- standardise


def test_standardize_learns_each_channel_and_exports_exactly(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from aispec.runtime.export import to_onnx

    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8) for _ in range(60)]
    X = pd.DataFrame({"image": pd.Series(images, dtype=object)})
    y = np.array(["a", "b", "c"] * 20)
    step = Standardize().fit(X)
    tensor = to_tensor(images).astype(np.float64)
    np.testing.assert_allclose(step.mean_, tensor.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(step.std_, tensor.std(axis=(0, 2, 3)), rtol=1e-6)
    assert step.transform(X).shape == (60, 60)
    assert Standardize(flatten=False).fit(X).transform(X).shape == (60, 3, 5, 4)
    pipeline = Pipeline([("preprocess", Standardize()), ("model", LogisticRegression(max_iter=200))]).fit(X, y)
    report = to_onnx(pipeline, X, tmp_path / "m.onnx", strict=True)
    assert report.inputs == {"image": "image"} and report.label_agreement == 1.0
    assert report.max_abs_diff < 1e-6


def test_the_graph_takes_any_batch_of_n_c_h_w(tmp_path: Path) -> None:
    import onnxruntime as ort
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    from aispec.runtime.export import to_onnx

    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, size=(6, 6, 1), dtype=np.uint8) for _ in range(40)]
    X = pd.DataFrame({"image": pd.Series(images, dtype=object)})
    y = np.array(["odd", "even"] * 20)
    pipeline = Pipeline([("preprocess", Standardize()), ("model", KNeighborsClassifier(3))]).fit(X, y)
    to_onnx(pipeline, X, tmp_path / "m.onnx", strict=True)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    [graph_input] = session.get_inputs()
    assert graph_input.name == "image" and graph_input.shape[1:] == [1, 6, 6]
    for n in (1, 7):
        labels = session.run(None, {"image": to_tensor(images[:n])})[0].ravel().tolist()
        assert [str(v) for v in labels] == pipeline.predict(X.iloc[:n]).tolist()


# -------------------------------------------------------------------------------------------- augment


def _frame(n: int, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, size=(8, 8, 1), dtype=np.uint8) for _ in range(n)]
    X = pd.DataFrame({"image": pd.Series(images, index=[f"f{i}.png" for i in range(n)], dtype=object)})
    return X, pd.Series([str(i % 2) for i in range(n)], index=X.index)


def test_augmentation_adds_altered_copies_and_keeps_the_originals() -> None:
    X, y = _frame(10)
    out_X, out_y = augment_rows(X, y, {"rotate": 15, "crop": 0.2, "color_jitter": 0.3}, factor=2.5, seed=4)
    assert len(out_X) == len(out_y) == 25
    assert out_X.index[:10].tolist() == X.index.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(out_X["image"][:10], X["image"], strict=True))
    names = out_X.index.tolist()
    assert names[10:20] == [f"f{i}.png#aug1" for i in range(10)]  # every image once, then a random half again
    assert len([n for n in names if n.endswith("#aug2")]) == 5
    assert [out_y[name] for name in out_X.index[10:]] == [y[name.split("#")[0]] for name in out_X.index[10:]]
    assert not any(np.array_equal(out_X["image"].iloc[10 + i], X["image"].iloc[i]) for i in range(10))
    again, _ = augment_rows(X, y, {"rotate": 15, "crop": 0.2, "color_jitter": 0.3}, factor=2.5, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(again["image"], out_X["image"], strict=True))  # seeded
    same, _ = augment_rows(X, y, {"flip": "none"}, factor=3, seed=4)
    assert same is X  # nothing to alter: no copies


def test_a_horizontal_flip_mirrors_or_keeps_each_copy() -> None:
    X, y = _frame(40)
    out_X, _ = augment_rows(X, y, {"flip": "horizontal"}, factor=2, seed=0)
    flipped = 0
    for i in range(40):
        original, copy = X["image"].iloc[i], out_X["image"].iloc[40 + i]
        mirrored = np.array_equal(copy, original[:, ::-1])
        assert mirrored or np.array_equal(copy, original)
        flipped += mirrored
    assert 10 < flipped < 30  # about half
