"""Audit an agency's declared links: plan a reviewed sample, estimate the wrong-person links from
the reviewers' verdicts (and the missed matches, from a reviewed sample of unlinked queries), and
what a probabilistic model can say without any labels.

Modules, lowest first: :mod:`~bench.audit.design` (sample sizes and the seeded draw),
:mod:`~bench.audit.estimate` (design-based intervals from verdicts), :mod:`~bench.audit.forms`
(the links file, the plan and the review form on disk), :mod:`~bench.audit.modelbased` (the
model's own expected false discoveries and misses), :mod:`~bench.audit.simulate` (audits of a
run with known truth: interval coverage). These sit on the measurement floor (they read ``raw/``
through :class:`~bench.runs.rundir.RunDir` and user files through :mod:`bench.inputs`);
the whole package sits there. The commands (:mod:`bench.audit_command`) and the calibration of
the model-based estimates over seeded runs (:mod:`bench.audit_calibration`) run scenarios, and
sit on top of ``bench`` beside the other commands.
"""
