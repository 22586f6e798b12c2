"""``pmm design compare BASE CANDIDATE``: a design-review paper comparing two frameworks on one region and cycle."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pmm_lib.vocab import DEFAULT_SEED

__all__ = ["add_arguments", "review_figures", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pmm design``."""
    sub = parser.add_subparsers(dest="design_command", metavar="ACTION", required=True)
    p = sub.add_parser("compare", help="compare a candidate framework with its base and write a design review",
                       description="Compare two designs (framework or candidate files) on one region and cycle; "
                                   "write tables, figures and the design-review paper (HTML + PDF) to --out.")
    p.add_argument("base", type=Path, help="base framework (methodology/framework.yaml) or a candidate file")
    p.add_argument("candidate", type=Path, help="candidate file (methodology/candidates/*.yaml) or a framework")
    p.add_argument("--region", required=True, help="WCO region code, or ALL")
    p.add_argument("--cycle", type=int, required=True, help="PMM cycle (year)")
    p.add_argument("--out", type=Path, required=True, help="output folder of the review")
    p.add_argument("--samples", type=int, default=500, help="Monte Carlo replications per design (default 500)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--renderer", choices=("auto", "quarto", "pandoc"), default="auto",
                   help="paper renderer (default: Quarto if on PATH, else pandoc + typst)")
    p.add_argument("--no-render", action="store_true", help="write paper.qmd and the tables only")


def review_figures(review: Any) -> dict[str, tuple[Any, str]]:
    """The figures of a design review: ``label -> (Figure, caption)``."""
    import matplotlib

    matplotlib.use("Agg")
    from pmm_lib.plots import design as pd_
    from pmm_lib.reporting.report import use_reproducible_style

    use_reproducible_style()
    cons = review.consistency
    changed = cons[(cons["change"].abs() >= 0.005) | (cons["k_before"] != cons["k_after"])]
    ax1 = pd_.plot_alpha_change(changed if len(changed) else cons)
    ax2 = pd_.plot_rank_shift_intervals(review.ranks)
    return {
        "fig-design-alpha": (ax1.figure, "Cronbach's alpha of the dimensions and expected outcomes the candidate "
                                         "changes, before (grey) and after (blue)"),
        "fig-design-rank-shifts": (ax2.figure, "Index rank shift of each Member (positive = moves up) with its 90% "
                                               "interval over paired Monte Carlo replications; blue = the interval "
                                               "excludes zero"),
    }


def run(args: argparse.Namespace) -> int:
    """``pmm design compare``: compute the review, write it and print the verdict."""
    import json

    from pmm_lib.inputs.data import load_observations
    from pmm_lib.reporting.design import compare_designs
    from pmm_lib.reporting.design_review import write_design_review

    obs = load_observations()
    latent = None
    truth = _truth_file()
    if truth is not None:
        import pandas as pd

        latent = pd.Series(json.loads(truth.read_text(encoding="utf-8")).get("latent", {}), dtype=float)
    print(f"pmm design compare: {args.candidate} against {args.base} ({args.region} {args.cycle})")
    review = compare_designs(args.base, args.candidate, region=args.region, cycle=args.cycle, observations=obs,
                             n_samples=args.samples, seed=args.seed, latent=latent if latent is not None
                             and len(latent) else None)
    files = write_design_review(review, args.out, figures=review_figures(review), render=not args.no_render,
                                renderer=args.renderer)
    print(f"verdict: {review.verdict}")
    print(review.verdict_text)
    for kind, path in files.items():
        print(f"  {kind}: {path}")
    return 0


def _truth_file() -> Path | None:
    """The planted truth of the bundled synthetic returns, when the returns are those (else None)."""
    from pmm_lib.paths import QUESTIONNAIRE_DIR

    path = Path(QUESTIONNAIRE_DIR) / "truth.json"
    return path if path.is_file() else None
