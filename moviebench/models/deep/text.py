"""Deep text rungs, trained from scratch with the shared loop (models/loop.py).

- `text-lstm`: an LSTM over word embeddings, max-pooled over time.
- `cnn-bilstm`: report 001's CNN-LSTM: Conv1d with 64 filters, max-pool, a bidirectional
  LSTM with 128 units and a sigmoid output layer.

Report 001 fed its network GloVe vectors. GloVe cannot be downloaded here, so both rungs start
their word embeddings from the closest thing shipped offline: all-MiniLM-L6-v2's input token
table (each word the mean of its word pieces; no transformer runs). The network, embeddings
included, is then trained here end to end; the leaderboard's weights column says "pretrained".
`embedding_init="random"` learns them from nothing instead (slower to converge on CPU).

Tokens come from sklearn's CountVectorizer analyser, with the vocabulary built on the
training texts only. Each rung declares its budget per profile (epochs, patience, batch size,
sequence length): `quick` for two CPU cores, `full` for a GPU.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.feature_extraction.text import CountVectorizer
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from moviebench.models import register_model
from moviebench.models.classical.text import texts_of
from moviebench.models.loop import quick_step_cap
from moviebench.models.pretrained.text import TorchText
from moviebench.tasks.base import TaskData

PAD, UNK = 0, 1


class Tokenized(TorchText):
    """Texts as padded token-id sequences with their lengths (empty text -> one UNK token), and
    a word-embedding table to start from."""

    pretrained_weights = True  # the default embedding_init borrows MiniLM's token table
    # embedding_dim applies to random initialisation; MiniLM's vectors have 384 dimensions.
    defaults = {
        **TorchText.defaults,
        "embedding_init": "minilm",
        "embedding_dim": 100,
        "max_vocab": 20_000,
        "min_df": 2,
        "lr": 3e-3,
    }
    # quick: sequences cut at 80 tokens (most overviews are shorter; a recurrent epoch on CPU
    # costs in proportion to the length); full: report 001's longer sequences and schedule.
    budgets = {
        "quick": {
            "epochs": 12,
            "patience": 3,
            "batch_size": 128,
            "max_steps": quick_step_cap(12, 128),
            "max_len": 80,
        },
        "full": {"epochs": 50, "patience": 10, "batch_size": 64, "max_len": 200},
    }

    def prepare(self, train: TaskData) -> None:
        p = self.params
        self.vectorizer_ = CountVectorizer(
            min_df=p["min_df"],
            max_features=p["max_vocab"],
            token_pattern=r"(?u)\b\w+\b",
            strip_accents="unicode",
        )
        texts = texts_of(train)
        try:
            self.vectorizer_.fit(texts)
            vocab = self.vectorizer_.vocabulary_
        except ValueError:  # no token reaches min_df (a tiny split): everything is UNK
            vocab = {}
        self.vocab_ = {word: i + 2 for i, word in enumerate(sorted(vocab))}
        self.analyze_ = self.vectorizer_.build_analyzer()
        lengths = [len(self.analyze_(t)) for t in texts] or [1]
        # Long enough for 95% of training texts: padding beyond that costs time, not accuracy.
        self.max_len_ = int(max(1, min(self.budget()["max_len"], np.percentile(lengths, 95))))

    def inputs_of(self, data: TaskData) -> list[torch.Tensor]:
        tokens = np.zeros((len(data), self.max_len_), dtype=np.int64)
        lengths = np.ones(len(data), dtype=np.int64)
        for i, text in enumerate(texts_of(data)):
            ids = [self.vocab_.get(w, UNK) for w in self.analyze_(text)][: self.max_len_] or [UNK]
            tokens[i, : len(ids)] = ids
            lengths[i] = len(ids)
        return [torch.from_numpy(tokens), torch.from_numpy(lengths)]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab_) + 2

    def embedding(self) -> nn.Embedding:
        """The word-embedding layer the network starts from (fitted_["embedding_init"] says which)."""
        init = self.params["embedding_init"]
        if init == "random":
            self.fitted_["embedding_init"] = "random"
            return nn.Embedding(self.vocab_size, self.params["embedding_dim"], padding_idx=PAD)
        if init != "minilm":
            raise ValueError(
                f"{self.name}: embedding_init must be 'minilm' or 'random', not {init!r}"
            )
        from moviebench.features.text import MINILM, minilm_word_vectors

        words = sorted(self.vocab_, key=self.vocab_.get)
        vectors = minilm_word_vectors(words)
        table = np.zeros((self.vocab_size, vectors.shape[1]), dtype=np.float32)
        table[2:] = vectors
        table[UNK] = vectors.mean(axis=0) if len(vectors) else 0.0
        # Rescale to the spread of a default-initialised layer, so the loop's learning rate suits it.
        table /= max(float(table[2:].std()), 1e-6) if len(vectors) else 1.0
        self.fitted_["embedding_init"] = f"{MINILM} token embeddings"
        return nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=False, padding_idx=PAD)


def _last_states(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Final hidden state of each sequence (both directions concatenated), padding ignored."""
    packed = pack_padded_sequence(
        x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
    )
    _, (h, _) = lstm(packed)
    if lstm.bidirectional:
        return torch.cat([h[-2], h[-1]], dim=1)
    return h[-1]


class LSTMNetwork(nn.Module):
    """Token embeddings -> LSTM -> max over the time steps of each text -> linear.

    Max-pooling the outputs, rather than reading the last state alone, lets a genre cue
    anywhere in a 100-token overview reach the output in few epochs.
    """

    def __init__(
        self, embedding: nn.Embedding, hidden: int, n_outputs: int, dropout: float
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.lstm = nn.LSTM(embedding.embedding_dim, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_outputs))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp(min=1)
        packed = pack_padded_sequence(
            self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = pad_packed_sequence(
            self.lstm(packed)[0], batch_first=True
        )  # (batch, steps, hidden)
        steps = torch.arange(out.shape[1], device=out.device)[None, :]
        out = out.masked_fill((steps >= lengths.to(out.device)[:, None])[..., None], float("-inf"))
        return self.head(out.max(dim=1).values)


@register_model
class TextLSTM(Tokenized):
    name = "text-lstm"
    summary = "LSTM (128) over word embeddings (from MiniLM's token table), max-pooled over time"
    defaults = {**Tokenized.defaults, "hidden": 128}

    def build_network(self, train: TaskData) -> nn.Module:
        p = self.params
        return LSTMNetwork(self.embedding(), p["hidden"], train.n_outputs, p["dropout"])


class CNNBiLSTMNetwork(nn.Module):
    """Report 001: embeddings -> Conv1d(64 filters) + ReLU -> max-pool(2) -> BiLSTM(128) -> sigmoid.

    The sigmoid lives in the loss (BCE with logits) and in the scores, as for every rung.
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        n_outputs: int,
        dropout: float,
        filters: int = 64,
        kernel: int = 5,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.conv = nn.Sequential(
            nn.Conv1d(embedding.embedding_dim, filters, kernel, padding=kernel // 2), nn.ReLU()
        )
        self.pool = nn.MaxPool1d(2, ceil_mode=True)
        self.lstm = nn.LSTM(filters, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, n_outputs))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens).transpose(1, 2)  # (batch, dim, steps)
        x = self.pool(self.conv(x)).transpose(1, 2)  # (batch, ceil(steps / 2), filters)
        return self.head(_last_states(self.lstm, x, (lengths + 1) // 2))


@register_model
class CNNBiLSTM(Tokenized):
    name = "cnn-bilstm"
    summary = "report 001: word embeddings (from MiniLM's token table), Conv1d 64 filters, max-pool, BiLSTM 128"
    defaults = {**Tokenized.defaults, "filters": 64, "hidden": 128}

    def build_network(self, train: TaskData) -> nn.Module:
        p = self.params
        return CNNBiLSTMNetwork(
            self.embedding(),
            train.n_outputs,
            p["dropout"],
            filters=p["filters"],
            hidden=p["hidden"],
        )
