"""A split as whole tensors, and its batches as index slices of them.

A network's inputs (token ids, feature matrices, uint8 pixels) are loaded once per split and
moved to the device once: onto the GPU when they fit in a share of its free memory, else
pinned in host memory and copied a batch at a time. A batch is `index_select` on each tensor,
never a Python loop over items and a collate, and `TensorBatches.transform` then works on the
whole batch on the device (the image datasets normalise and augment there, features/images.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Dataset

# A split stays resident on a GPU when it takes at most this share of the free memory; the
# rest is left to the network's activations.
RESIDENT_SHARE = 0.4


def shuffled_order(n: int, generator: torch.Generator) -> torch.Tensor:
    """One epoch's order, drawn from `generator` exactly as a shuffling DataLoader draws it
    (its base seed, then RandomSampler's permutation and its empty remainder), so tensor-fed
    networks see the batches they saw from the DataLoader and their records stay valid
    (tests/test_batches.py checks it against the installed torch)."""
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    order = torch.randperm(n, generator=generator)
    torch.randperm(n, generator=generator)
    return order


class TensorBatches(Dataset):
    """Tensors of one split, first dimension the items (the last one: the targets).

    `batches` yields lists of device tensors, one list per batch, after `transform`; a
    subclass overrides `transform` to turn stored tensors into network inputs (uint8 pixels
    into normalised, augmented floats). Indexing one item works too (a batch of one).
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError(
                f"TensorBatches: tensors of different lengths {[len(t) for t in tensors]}"
            )
        self.tensors = list(tensors)
        self._placed: tuple[torch.device, list[torch.Tensor], bool] | None = None

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        index = torch.tensor([int(i)])
        return tuple(t[0] for t in self.batch(index, "cpu"))

    def transform(
        self, parts: list[torch.Tensor], training: bool, generator: torch.Generator | None
    ) -> list[torch.Tensor]:
        """A batch as the network reads it (stored tensors as they are, by default)."""
        return parts

    def placed(self, device: str | torch.device) -> tuple[list[torch.Tensor], bool]:
        """The tensors for `device` and whether they live there: on a GPU when they fit
        (`RESIDENT_SHARE` of its free memory), else pinned host memory; moved once."""
        device = torch.device(device)
        if self._placed is None or self._placed[0] != device:
            resident = True
            tensors = self.tensors
            if device.type == "cuda":
                need = sum(t.element_size() * t.nelement() for t in tensors)
                free, _ = torch.cuda.mem_get_info(device)
                resident = need <= RESIDENT_SHARE * free
                tensors = [t.to(device) if resident else t.pin_memory() for t in tensors]
            elif device.type != "cpu":
                tensors = [t.to(device) for t in tensors]
            self._placed = (device, tensors, resident)
        return self._placed[1], self._placed[2]

    def batch(
        self,
        index: torch.Tensor,
        device: str | torch.device,
        training: bool = False,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """The items at `index` (a CPU index tensor), on `device`, after `transform`."""
        tensors, resident = self.placed(device)
        if resident:
            on = index.to(tensors[0].device)
            parts = [t.index_select(0, on) for t in tensors]
        else:  # streamed: gathered into pinned memory, copied without blocking the host
            parts = []
            for t in tensors:
                out = torch.empty((len(index), *t.shape[1:]), dtype=t.dtype, pin_memory=True)
                parts.append(torch.index_select(t, 0, index, out=out).to(device, non_blocking=True))
        return self.transform(parts, training, generator)

    def batches(
        self,
        batch_size: int,
        device: str | torch.device,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        training: bool = False,
    ) -> Iterator[list[torch.Tensor]]:
        """One pass in batches of `batch_size`: shuffled with `generator` (as a DataLoader
        would), or in order; `training` turns on a subclass's augmentation, drawn from
        `generator` too."""
        if shuffle:
            if generator is None:
                raise ValueError("a shuffled pass needs its generator")
            chunks = self.shuffled_chunks(batch_size, generator)
        else:
            chunks = _cut(torch.arange(len(self)), batch_size)
        for index in chunks:
            yield self.batch(index, device, training, generator)

    def shuffled_chunks(self, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
        """A shuffled pass's batches of indices, all drawn from `generator` before the first
        batch is made: a DataLoader's order here; a subclass may bucket them."""
        return _cut(shuffled_order(len(self), generator), batch_size)

    def n_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)


def _cut(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def as_batches(data: Dataset) -> TensorBatches | None:
    """`data` as TensorBatches where it is tensors already (TensorDataset included), else None."""
    if isinstance(data, TensorBatches):
        return data
    if isinstance(data, torch.utils.data.TensorDataset):
        return TensorBatches(*data.tensors)
    return None
