"""Every command explains itself: `bench --version`, and an example in each command's --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

import moviebench
from moviebench.cli import cli


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and moviebench.__version__ in result.output


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_each_command_help_shows_a_runnable_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    examples = [line.strip() for line in result.output.splitlines() if "bench " in line]
    assert any(
        (line.split("bench ", 1)[1] + " ").startswith(" ".join(path) + " ") for line in examples
    ), f"`bench {' '.join(path)} --help` shows no example of itself"
