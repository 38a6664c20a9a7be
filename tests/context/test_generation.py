import pytest
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from cx_context.context.errors import GenerationError
from cx_context.context.generation import Generator, build_chat_model, load_prompt

VARIABLES = {
    "passages": "[1] Returns: items can be returned within 30 days.",
    "question": "How long do I have to return an item?",
    "conversation": "",
}


def test_answer_prompt_is_loaded_with_its_version() -> None:
    prompt = load_prompt("answer")

    assert prompt.name == "answer"
    assert prompt.version == 1
    assert prompt.label == "answer/v1"
    assert prompt.variables == {"passages", "question", "conversation"}


def test_unknown_prompt_or_version_is_named() -> None:
    with pytest.raises(ValueError, match="no prompt file named 'nope'"):
        load_prompt("nope")
    with pytest.raises(ValueError, match="has versions \\[1\\], got 9"):
        load_prompt("answer", version=9)


def test_generate_returns_the_models_reply() -> None:
    model = FakeListChatModel(responses=["Within 30 days [1]."])

    text = Generator(model, timeout_s=5).generate(load_prompt("answer"), VARIABLES)

    assert text == "Within 30 days [1]."


def test_stream_yields_the_reply_in_chunks() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("Within 30 days [1].")]))

    chunks = list(
        Generator(model, timeout_s=5).stream(load_prompt("answer"), VARIABLES)
    )

    assert len(chunks) > 1
    assert "".join(chunks) == "Within 30 days [1]."


def test_a_model_slower_than_the_timeout_is_a_generation_error() -> None:
    model = FakeListChatModel(responses=["late"], sleep=2.0)

    with pytest.raises(GenerationError, match=r"did not answer within 0\.2 s"):
        Generator(model, timeout_s=0.2).generate(load_prompt("answer"), VARIABLES)


def test_a_failing_model_is_a_generation_error() -> None:
    model = FakeListChatModel(responses=["Within 30 days."], error_on_chunk_number=3)

    with pytest.raises(GenerationError, match="failed: FakeListChatModelError"):
        Generator(model, timeout_s=5).generate(load_prompt("answer"), VARIABLES)


def test_an_empty_reply_is_a_generation_error() -> None:
    model = FakeListChatModel(responses=["   "])

    with pytest.raises(GenerationError, match="empty reply"):
        Generator(model, timeout_s=5).generate(load_prompt("answer"), VARIABLES)


def test_no_model_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="generator none"):
        Generator(None, timeout_s=5).generate(load_prompt("answer"), VARIABLES)


def test_a_missing_prompt_variable_is_named() -> None:
    model = FakeListChatModel(responses=["x"])

    with pytest.raises(ValueError, match="needs conversation, passages"):
        Generator(model, timeout_s=5).generate(load_prompt("answer"), {"question": "q"})


def test_settings_build_the_named_chat_model() -> None:
    assert build_chat_model("none", None, None, None, 5, 0) is None

    openai = build_chat_model(
        "openai", "http://127.0.0.1:9/v1", "some-model", SecretStr("k"), 5, 0
    )
    ollama = build_chat_model("ollama", "http://127.0.0.1:9", "llama3", None, 5, 0)

    assert openai is not None
    assert openai._llm_type == "openai-chat"
    assert ollama is not None
    assert ollama._llm_type == "chat-ollama"
    with pytest.raises(ValueError, match="needs a model name"):
        build_chat_model("openai", None, None, None, 5, 0)


def test_an_unreachable_endpoint_is_a_generation_error() -> None:
    # Port 9 (discard) on loopback refuses connections: nothing leaves the machine.
    model = build_chat_model(
        "openai", "http://127.0.0.1:9/v1", "some-model", None, 2, 0
    )

    with pytest.raises(GenerationError, match="failed"):
        Generator(model, timeout_s=5).generate(load_prompt("answer"), VARIABLES)
