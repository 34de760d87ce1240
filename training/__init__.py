"""jfdl-serve training pipeline: consistency training, JFDL guidance alignment, evaluation, export."""
