"""Evaluation metrics, each registered through the ``ganzoo_metrics`` hook (see ``docs/evaluation.md``).

- ``evaluate``: pick the metrics that fit a run, compute them, merge them into ``RUN/eval.json``
  (``from ganzoo.metrics.evaluate import evaluate``; the CLI is ``ganzoo eval``).
- ``modes``: mode coverage of the 2-D mixtures (VEEGAN/PacGAN protocol).
- ``digits``: the shipped MNIST classifier; ``digit_metrics``: the offline digit metrics built on it.
- ``inception``: the standard Inception-v3 and its weights; ``image_metrics``: FID, KID and IS.
- ``distances``: Fréchet distance, KID and IS of feature sets, through torchmetrics.
- ``reference`` and ``samples``: the real and the generated side of a comparison, and the cache.
"""
