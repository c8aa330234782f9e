"""Pretrained rungs: a frozen encoder learned elsewhere (MiniLM, EfficientNet-Lite0) and a
head trained here. They measure what borrowed representations buy before any fine-tuning."""
