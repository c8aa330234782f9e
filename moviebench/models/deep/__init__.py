"""Deep rungs: networks trained here end to end, from scratch or fine-tuned, all by the one
loop in `models/loop.py`."""
