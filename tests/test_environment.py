"""environment.yml (conda-forge) agrees with pyproject.toml: same packages (dependencies and every
extra), same lower bounds, plus Quarto; ``make setup`` installs every extra."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from pmm_lib.paths import ROOT

_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def _norm(name: str) -> str:
    """PEP 503 normalisation (conda-forge names are the lower-case PyPI names)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(spec: str) -> tuple[str, str | None]:
    """(normalised name, lower bound or None) of a requirement like ``numpy>=2.0``."""
    match = _SPEC.match(spec)
    assert match, spec
    name, rest = match.groups()
    lower = re.search(r">=\s*([0-9][^,;\s]*)", rest)
    return _norm(name), lower.group(1) if lower else None


def _pyproject() -> dict[str, str | None]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():  # every extra, not only dev
        specs += extra
    return dict(_parse(s) for s in specs)


def _environment() -> tuple[dict[str, str | None], dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out: dict[str, str | None] = {}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            for spec in item.get("pip", []):
                name, lower = _parse(spec)
                out[name] = lower
        else:
            name, lower = _parse(item)
            out[name] = lower
    return out, env


def test_parse_examples() -> None:
    assert _parse("SALib>=1.5") == ("salib", "1.5")
    assert _parse("pypandoc_binary >= 1.13") == ("pypandoc-binary", "1.13")
    assert _parse("quarto") == ("quarto", None)
    assert _parse("dask[distributed]>=2024.1,<2026") == ("dask", "2024.1")


def test_conda_forge_channel_and_extras() -> None:
    env, raw = _environment()
    assert raw["channels"] == ["conda-forge"]
    assert "quarto" in env
    assert env["python"] == "3.11"
    assert "pip" in env


def test_same_package_names() -> None:
    env, _ = _environment()
    py = _pyproject()
    extra = set(env) - set(py) - {"python", "pip", "quarto"}
    missing = set(py) - set(env)
    assert not missing, f"in pyproject.toml but not in environment.yml: {sorted(missing)}"
    assert not extra, f"in environment.yml but not in pyproject.toml: {sorted(extra)}"


@pytest.mark.parametrize("name", sorted(_pyproject()))
def test_same_lower_bound(name: str) -> None:
    env, _ = _environment()
    assert env.get(name) == _pyproject()[name], f"{name}: lower bounds differ"


def test_python_bound_matches_requires_python() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env, _ = _environment()
    assert data["project"]["requires-python"] == f">={env['python']}"


def test_make_setup_installs_every_extra() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installed = re.search(r'pip install[^\n]*-e "\.\[([^\]]*)\]"', makefile)
    assert installed, "make setup must pip-install the project with its extras"
    assert set(installed.group(1).split(",")) == set(data["project"]["optional-dependencies"])


def test_lower_bounds_are_met_by_the_installed_environment() -> None:
    """Each lower bound is at most what is installed here (a bound above every release would break
    installs), and the bounds that guard an API the code imports are high enough for it."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import Version

    for name, lower in _pyproject().items():
        if lower is None:
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # an extra not installed on this machine (checked where it is)
        assert Version(installed) >= Version(lower), f"{name} {installed} is below the declared {lower}"
    py = _pyproject()
    assert Version(py["pandera"]) >= Version("0.24")  # pandera.pandas first shipped in 0.24.0
    assert Version(py["jupytext"]) >= Version("1.16")  # JupyterLab 4 extension
