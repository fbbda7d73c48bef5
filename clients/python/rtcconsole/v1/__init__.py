"""Generated from protos/rtcconsole/v1 by scripts/generate.py; do not edit."""
