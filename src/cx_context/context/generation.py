"""Text generation behind LangChain: any chat model, versioned prompt files, deadlines.

The service works without a language model (generator "none"); when settings
name one, `build_chat_model` makes a LangChain chat model for an
OpenAI-compatible endpoint or an Ollama server. `Generator` runs a versioned
`Prompt` through it with a deadline, so a slow or failing model surfaces as
one `GenerationError` the caller answers by falling back to its offline
result. Generated text is never trusted as it comes: callers check it against
their sources before it leaves.
"""

import logging
import queue
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from pydantic import SecretStr

from cx_context.context.errors import GenerationError

logger = logging.getLogger(__name__)

GeneratorKind = Literal["none", "openai", "ollama"]
GENERATOR_KINDS: tuple[str, ...] = ("none", "openai", "ollama")

_ROLES = frozenset({"system", "human", "ai"})


@dataclass(frozen=True)
class Prompt:
    """A prompt template kept as a file, with the version recorded beside outputs."""

    name: str
    version: int
    template: ChatPromptTemplate

    @property
    def label(self) -> str:
        """How outputs record the prompt they came from, e.g. "answer/v1"."""
        return f"{self.name}/v{self.version}"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(self.template.input_variables)


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The prompt `name` from `context/prompts/` (its newest version by default)."""
    folder = resources.files("cx_context.context") / "prompts"
    versions: dict[int, Any] = {}
    for entry in folder.iterdir():
        stem, _, suffix = entry.name.rpartition(".")
        base, _, tag = stem.rpartition(".v")
        if suffix == "yaml" and base == name and tag.isdigit():
            versions[int(tag)] = entry
    if not versions:
        raise ValueError(f"no prompt file named {name!r} in cx_context/context/prompts")
    chosen = max(versions) if version is None else version
    if chosen not in versions:
        raise ValueError(
            f"prompt {name!r} has versions {sorted(versions)}, got {version}"
        )
    entry = versions[chosen]
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return _parse_prompt(data, entry.name, name, chosen)


def _parse_prompt(data: Any, file_name: str, name: str, version: int) -> Prompt:
    if not isinstance(data, dict):
        raise ValueError(f"prompt file {file_name}: expected a mapping at the top")
    if data.get("name") != name or data.get("version") != version:
        raise ValueError(
            f"prompt file {file_name}: name and version inside must be {name!r} "
            f"and {version}, got {data.get('name')!r} and {data.get('version')!r}"
        )
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"prompt file {file_name}: needs a non-empty list messages")
    parts: list[tuple[str, str]] = []
    for position, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        template = message.get("template") if isinstance(message, dict) else None
        if role not in _ROLES or not isinstance(template, str):
            raise ValueError(
                f"prompt file {file_name}: messages[{position}] needs a role "
                f"({', '.join(sorted(_ROLES))}) and a template string"
            )
        parts.append((role, template))
    return Prompt(name, version, ChatPromptTemplate.from_messages(parts))


def build_chat_model(
    kind: str,
    base_url: str | None,
    model: str | None,
    api_key: SecretStr | None,
    timeout_s: float,
    temperature: float,
) -> BaseChatModel | None:
    """The chat model settings name, or None for the offline generator "none"."""
    if kind == "none":
        return None
    if kind not in GENERATOR_KINDS:
        raise ValueError(
            f"generator must be one of {', '.join(GENERATOR_KINDS)}, got {kind!r}"
        )
    if not model:
        raise ValueError(f"generator {kind!r} needs a model name (CX_LLM_MODEL)")
    if kind == "openai":
        from langchain_openai import ChatOpenAI

        # A local OpenAI-compatible server needs no key, but the client wants one.
        key = api_key or SecretStr("not-needed")
        return ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=key,
            timeout=timeout_s,
            temperature=temperature,
            max_retries=0,
        )
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=model,
        base_url=base_url,
        temperature=temperature,
        client_kwargs={"timeout": timeout_s},
    )


_DONE = object()


class Generator:
    """Runs prompts through a chat model with a deadline; no model means no text.

    The deadline is kept by waiting on a worker thread: a model that hangs is
    left to finish in the background and its result is dropped.
    """

    def __init__(self, model: BaseChatModel | None, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.model = model
        self.timeout_s = timeout_s

    @property
    def available(self) -> bool:
        return self.model is not None

    @property
    def model_name(self) -> str:
        """The model's name for the risk log and outputs, e.g. "openai:gpt-4o"."""
        if self.model is None:
            return "none"
        name = getattr(self.model, "model_name", None) or getattr(
            self.model, "model", None
        )
        kind = self.model._llm_type
        return f"{kind}:{name}" if name else kind

    def generate(self, prompt: Prompt, variables: Mapping[str, str]) -> str:
        """The model's whole reply; GenerationError on timeout or any failure."""
        chunks = list(self.stream(prompt, variables))
        text = "".join(chunks).strip()
        if not text:
            raise GenerationError(f"{self.model_name} returned an empty reply")
        return text

    def stream(self, prompt: Prompt, variables: Mapping[str, str]) -> Iterator[str]:
        """The reply in chunks as they come; each chunk must come within the timeout."""
        model = self.model
        if model is None:
            raise GenerationError("no language model is configured (generator none)")
        messages = _format(prompt, variables)
        chunks: queue.Queue[object] = queue.Queue()

        def produce() -> None:
            try:
                for chunk in model.stream(messages):
                    text = chunk.text
                    if text:
                        chunks.put(text)
                chunks.put(_DONE)
            except Exception as exc:  # every model failure becomes one error
                chunks.put(exc)

        worker = threading.Thread(target=produce, name="cx-generation", daemon=True)
        worker.start()
        while True:
            try:
                item = chunks.get(timeout=self.timeout_s)
            except queue.Empty:
                logger.warning(
                    "generation with %s timed out after %.1f s",
                    self.model_name,
                    self.timeout_s,
                )
                raise GenerationError(
                    f"{self.model_name} did not answer within {self.timeout_s:g} s"
                ) from None
            if item is _DONE:
                return
            if isinstance(item, Exception):
                logger.warning(
                    "generation with %s failed: %s",
                    self.model_name,
                    type(item).__name__,
                )
                raise GenerationError(
                    f"{self.model_name} failed: {type(item).__name__}: {item}"
                ) from item
            assert isinstance(item, str)
            yield item


def _format(prompt: Prompt, variables: Mapping[str, str]) -> list[BaseMessage]:
    missing = prompt.variables - set(variables)
    if missing:
        raise ValueError(
            f"prompt {prompt.label} needs {', '.join(sorted(missing))}, "
            f"got {', '.join(sorted(variables)) or 'nothing'}"
        )
    return prompt.template.format_messages(**variables)
