"""The NIST Generative AI Profile (NIST AI 600-1): its risks and the actions we serve.

Every risk-log row names one of the profile's twelve GAI risks and the ids
of the profile's suggested actions that the control which wrote it carries
out. Only the actions this service performs are listed; the summaries are
ours, in a few words, not the profile's text.
"""

from collections.abc import Iterable
from enum import StrEnum


class RiskCategory(StrEnum):
    """The twelve risks of NIST AI 600-1, section 2."""

    CBRN = "cbrn"
    CONFABULATION = "confabulation"
    DANGEROUS_VIOLENT_HATEFUL = "dangerous_violent_hateful"
    DATA_PRIVACY = "data_privacy"
    ENVIRONMENTAL = "environmental"
    HARMFUL_BIAS_HOMOGENIZATION = "harmful_bias_homogenization"
    HUMAN_AI_CONFIGURATION = "human_ai_configuration"
    INFORMATION_INTEGRITY = "information_integrity"
    INFORMATION_SECURITY = "information_security"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    OBSCENE_DEGRADING_ABUSIVE = "obscene_degrading_abusive"
    VALUE_CHAIN_COMPONENT_INTEGRATION = "value_chain_component_integration"


# Suggested actions of the profile that a control of this service carries out.
ACTIONS: dict[str, str] = {
    "MS-2.2-002": "privacy output filters; personal data removed",
    "MS-2.5-003": "sources and citations of outputs verified",
    "MS-2.5-005": "retrieval-augmented generation data checked for grounding",
    "MS-2.6-005": "outputs monitored; security anomalies handled",
    "MS-2.7-009": "security measures checked to remain effective",
    "MG-3.1-002": "value chain risks such as data poisoning tested",
    "MG-3.2-005": "rule-based and model-based filters flag problematic inputs",
    "MG-4.3-002": "errors and near-misses recorded and tracked",
}

# The actions each control serves.
INJECTION_QUESTION_ACTIONS = ("MG-3.2-005", "MS-2.6-005")
INJECTION_CHUNK_ACTIONS = ("MG-3.2-005", "MG-3.1-002", "MS-2.5-005")
CITATION_ACTIONS = ("MS-2.5-003", "MG-4.3-002")
GROUNDING_ACTIONS = ("MS-2.5-003", "MS-2.5-005", "MG-4.3-002")
PRIVACY_OUTPUT_ACTIONS = ("MS-2.2-002",)
# A language model that failed, and the offline composer that answered instead.
GENERATION_FALLBACK_ACTIONS = ("MG-3.1-002", "MG-4.3-002")


def check_actions(ids: Iterable[str]) -> tuple[str, ...]:
    """The ids, unchanged, or a ValueError naming the first one we do not know."""
    checked = tuple(ids)
    for action in checked:
        if action not in ACTIONS:
            raise ValueError(
                f"unknown NIST AI 600-1 action id {action!r}; "
                f"known ids are {', '.join(sorted(ACTIONS))}"
            )
    return checked
