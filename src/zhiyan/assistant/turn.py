"""One assistant turn, from any channel: the only entry point channels call.

A channel adapter builds a `Turn` from its wire format, calls `Assistant.respond` (or
`Assistant.stream`), and renders the `Reply`. It never sees models, retrieval or policy.

The pipeline: detect language → commands → input policy → route (idiom, knowledge, small
talk) → retrieve → prompt within the context budget → generate (output policy checked as
the answer streams) → check the answer's language → shape for the channel → remember.

A Chinese factual question over Chinese sources is answered as `zhiyan kb ask` answers it:
the span that answers it, copied from a source and cited (`knowledge.grounded`), rather
than a sentence the model writes. On CMRC 2018 questions 600-649 that span was both more
often right and faster than the written answer (`zhiyan eval qa --via both`; figures in
docs/benchmarks.md). Requests ("介绍一下…") and other languages are still written.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from zhiyan.assistant import idioms, language, router
from zhiyan.assistant.memory import Memory, fit_history, get_lang_pref, set_lang_pref
from zhiyan.assistant.policy import REMOVED, Policy, PolicySettings
from zhiyan.assistant.prompts import Passage, fit_passages
from zhiyan.assistant.shape import shape, shorten
from zhiyan.config import Settings
from zhiyan.engine.base import ChatRequest, Engine, Message, Usage
from zhiyan.engine.errors import EngineError, QueueFullError
from zhiyan.i18n import LANGUAGES, t
from zhiyan.storage.db import open_database

Channel = Literal["http", "web", "sms", "ussd", "cli"]


@dataclass
class Turn:
    """What a user said, and what the channel can carry back."""

    text: str
    user_id: str
    channel: Channel = "http"
    conversation_id: str | None = None
    #: the user's chosen language (e.g. from `LANG sw`); overrides detection
    lang: str | None = None
    #: the most characters the channel can show (None: no limit)
    max_chars: int | None = None
    #: whether the channel renders markdown
    markdown: bool = False
    #: the user asks the last question again: its first answer is forgotten before this one
    retry: bool = False
    #: earlier messages when the channel keeps history itself (the OpenAI API does)
    history: list[Message] = field(default_factory=list)
    #: generation options a channel may pass through (the OpenAI API does); None: defaults
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    #: a GBNF grammar the answer must follow; such an answer is passed through unshaped
    grammar: str | None = None


@dataclass
class Citation:
    number: int
    doc_id: str
    title: str
    version: int | None = None
    chunk_id: str | None = None
    snippet: str = ""
    source: str | None = None


@dataclass
class Reply:
    text: str
    lang: str = "und"
    citations: list[Citation] = field(default_factory=list)
    #: "answer", "knowledge", "idiom", "command", "refusal", "error", "dont_know" …
    kind: str = "answer"
    #: the policy rule that fired, when one did
    policy_rule: str | None = None
    finish_reason: str = "stop"
    #: tokens the engine used for this turn, when it was asked
    usage: Usage | None = None


@dataclass
class ReplyEvent:
    """A piece of a streamed reply; the final event carries the whole Reply.

    The first event of a generated answer is an empty delta sent once the engine has
    started: errors (a full queue, an overlong prompt) are raised before it."""

    delta: str = ""
    reply: Reply | None = None


class AssistantSettings(BaseModel):
    """The `[assistant]` table of zhiyan.toml."""

    #: languages the model writes poorly: answers there come from retrieved text in that
    #: language, or from a model answer checked to be in that language, or an honest
    #: "I can't" in it (measured for the 1.5B default model: weak in sw, ha, am, yo)
    weak_languages: list[str] = Field(default_factory=lambda: ["sw", "ha", "am", "yo"])
    #: language when neither the user, their preference nor detection says one
    default_lang: str = "en"
    #: tokens of conversation memory in a prompt; older turns are summarized
    memory_tokens: int = Field(default=1024, ge=64)
    summary_tokens: int = Field(default=160, ge=16)
    #: passages retrieved per question (the knowledge part judges which are relevant)
    knowledge_k: int = Field(default=4, ge=1, le=20)
    #: "rules" (cheap, predictable) or "model" (grammar-constrained classification)
    router: Literal["rules", "model"] = "rules"
    #: say so when an answer comes from the model and not from the sources
    note_unsourced: bool = True
    #: characters held back while streaming so the output policy sees a phrase whole
    holdback_chars: int = Field(default=32, ge=0)
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    #: answer Chinese factual questions over Chinese sources with the cited span
    #: (`knowledge.grounded`) instead of a written sentence
    extract_answers: bool = True


#: a Chinese question (not a request such as "介绍一下…"): a question word, or a question mark
_ZH_QUESTION = re.compile(r"[？?]\s*$|谁|什么|哪|几|多少|多大|多长|多高|多久|何|怎|为什么|吗|是否")
#: tokens for an extracted span (the grounded pipeline widens it to its sentence or clause)
_EXTRACT_TOKENS = 48
#: answers shorter than this are not checked for their language (too little text)
_LANG_CHECK_MIN_CHARS = 24
_CITE = re.compile(r"\[(\d{1,2})\]")
#: languages close enough that an answer in one serves a reader of the other; it is still
#: marked when the words show it (the default model answers Malay in Indonesian)
_SISTERS = {frozenset({"ms", "id"})}


@dataclass
class _Plan:
    """What the pipeline decided before generating."""

    lang: str
    kind: str
    passages: list[Passage]
    max_tokens: int
    buffered: bool
    weak: bool
    #: the knowledge base's hits behind `passages` (the grounded pipeline reads them)
    hits: list[Any] = field(default_factory=list)
    #: answer with the cited span from the sources (see `Assistant._extracts`)
    extract: bool = False
    #: the written answer's prompt, built only when the answer is written (`_write`)
    messages: list[Message] = field(default_factory=list)
    unsourced: bool = False


def _kb_provider(knowledge: Any) -> Callable[[], Any]:
    if callable(knowledge) and not hasattr(knowledge, "search"):
        return knowledge  # type: ignore[no-any-return]
    return lambda: knowledge


class Assistant:
    """The turn pipeline."""

    def __init__(self, engine: Engine, settings: Settings | None = None,
                 database: sqlite3.Connection | Path | str | None = None,
                 knowledge: Any = None, *, default_max_tokens: int | None = None) -> None:
        self.engine = engine
        settings = settings or Settings()
        self.settings = settings.section("assistant", AssistantSettings)
        self.default_max_tokens = default_max_tokens or settings.engine.default_max_tokens
        if isinstance(database, sqlite3.Connection):
            self.conn = database
        else:
            self.conn = open_database(database if database is not None else ":memory:")
        self.policy = Policy(settings.section("policy", PolicySettings), self.conn)
        self.memory = Memory(self.conn, engine, self.settings.memory_tokens,
                             self.settings.summary_tokens)
        self._knowledge = _kb_provider(knowledge)

    async def warm_up(self) -> None:
        """Load what the first turn would otherwise load (language models, the idiom
        automaton, the knowledge index and embedder), so no user waits for it."""
        language.detect("hello, how are you today")
        router.find_idiom("画蛇添足")
        kb = self._knowledge()
        if kb is not None:
            await router.search_knowledge(kb, "warm up", "en", 1)

    # -- entry points ---------------------------------------------------------------------

    async def respond(self, turn: Turn) -> Reply:
        """The whole reply. An engine that is busy or failing gives a localized message."""
        reply: Reply | None = None
        try:
            async for event in self.stream(turn):
                if event.reply is not None:
                    reply = event.reply
        except QueueFullError as exc:
            lang = self._lang_hint(turn)
            return Reply(t("core.busy", lang, seconds=exc.retry_after), lang, kind="error")
        except EngineError:
            lang = self._lang_hint(turn)
            return Reply(t("core.error", lang), lang, kind="error")
        assert reply is not None
        return reply

    async def stream(self, turn: Turn) -> AsyncIterator[ReplyEvent]:
        """The reply as it is made. Engine errors raise before the first event."""
        if turn.retry and self._remembers(turn):
            self.memory.forget_last_exchange(turn.user_id, self._conversation(turn))
        early, plan = await self._prepare(turn)
        if early is not None:
            if early.kind == "idiom":  # a skill's reply (a chain move…) is conversation
                await self._remember(turn, early)
            yield ReplyEvent(delta=early.text)
            yield ReplyEvent(reply=early)
            return
        assert plan is not None
        if plan.extract:
            reply = await self._extract(turn, plan)
            if reply is not None:
                yield ReplyEvent(delta="")
                yield ReplyEvent(delta=reply.text)
                await self._remember(turn, reply)
                yield ReplyEvent(reply=reply)
                return
        await self._write(turn, plan)
        async for event in self._generate(turn, plan):
            yield event

    # -- stages ---------------------------------------------------------------------------

    def _lang_hint(self, turn: Turn) -> str:
        if turn.lang and router.known_language(turn.lang):
            return router.known_language(turn.lang) or self.settings.default_lang
        pref = get_lang_pref(self.conn, turn.user_id)
        if pref:
            return pref
        found = language.detect(turn.text[:500]).lang
        return found if found in LANGUAGES else self.settings.default_lang

    def _conversation(self, turn: Turn) -> str:
        return turn.conversation_id or "default"

    def _remembers(self, turn: Turn) -> bool:
        """The OpenAI API is stateless by contract: its client sends the history. Other
        channels' turns are stored even when the channel sends history too (web chat), so
        the conversation survives in the assistant's memory until it is reset."""
        return turn.channel != "http"

    async def _prepare(self, turn: Turn) -> tuple[Reply | None, _Plan | None]:
        text = turn.text.strip()
        lang = self._lang_hint(turn)
        if not text:
            return Reply(t("core.empty", lang), lang, kind="error"), None
        if not any(ch.isalnum() for ch in text):
            return Reply(t("core.emoji_only", lang), lang, kind="error"), None

        command = router.parse_command(text, lang)
        if command is not None:
            return self._command(turn, command, lang), None

        decision = self.policy.check_input(text, lang, user_id=turn.user_id,
                                           channel=turn.channel)
        if decision.refused:
            kind = "error" if decision.rule == "max_input_chars" else "refusal"
            return Reply(decision.message or t("core.refusal", lang), lang, kind=kind,
                         policy_rule=decision.rule), None

        chain = idioms.chain_key(turn.user_id, self._conversation(turn))
        skill = idioms.detect(text, idioms.chain_active(self.conn, chain))
        if skill is not None:
            answer = await idioms.respond(skill, lang, self.conn, chain, self.engine)
            return Reply(shape(answer, lang=lang, markdown=turn.markdown,
                               max_chars=turn.max_chars, sources=[], notes=[]),
                         lang, kind="idiom"), None

        kind, passages, hits = await self._route(text, lang, self._previous_question(turn))
        weak = lang in self.settings.weak_languages
        if weak and kind == "knowledge":
            same_lang = [p for p in passages if p.lang == lang]
            if same_lang:
                return self._extractive(same_lang[0], lang), None
            # nothing to quote in the user's language, and the model's own text in it is
            # unusable (benchmarks/weak_languages.py: echoes and loops): say so honestly
            return Reply(t("core.weak_language_none", lang), lang, kind="dont_know"), None

        max_tokens = turn.max_tokens or self.default_max_tokens
        if turn.max_chars:
            max_tokens = min(max_tokens, max(16, turn.max_chars))
        return None, _Plan(
            lang=lang, kind=kind, passages=passages, max_tokens=max_tokens,
            buffered=turn.max_chars is not None or not turn.markdown or weak, weak=weak,
            hits=hits, extract=self._extracts(turn, text, lang, kind, passages),
        )

    def _extracts(self, turn: Turn, text: str, lang: str, kind: str,
                  passages: list[Passage]) -> bool:
        """Whether to answer with the cited span: a Chinese question over Chinese sources,
        and no grammar the answer must follow."""
        return (self.settings.extract_answers and kind == "knowledge" and lang == "zh"
                and bool(passages) and all(p.lang == "zh" for p in passages)
                and turn.grammar is None and _ZH_QUESTION.search(text) is not None)

    def _command(self, turn: Turn, command: router.Command, lang: str) -> Reply:
        if command.name == "help":
            return Reply(t("core.help", lang), lang, kind="command")
        if command.name == "reset":
            self.memory.reset(turn.user_id, self._conversation(turn))
            return Reply(t("core.reset_done", lang), lang, kind="command")
        chosen = router.known_language(command.arg)
        if chosen is None:
            return Reply(t("core.lang_unknown", lang, codes=", ".join(LANGUAGES)), lang,
                         kind="command")
        set_lang_pref(self.conn, turn.user_id, chosen)
        return Reply(t("core.lang_set", chosen), chosen, kind="command")

    def _previous_question(self, turn: Turn) -> str | None:
        """The user's previous message in this conversation (a follow-up's subject)."""
        if turn.history:
            return next((m.content for m in reversed(turn.history) if m.role == "user"), None)
        if not self._remembers(turn):
            return None
        return self.memory.last_user_message(turn.user_id, self._conversation(turn))

    async def _route(self, text: str, lang: str, previous: str | None = None,
                     ) -> tuple[str, list[Passage], list[Any]]:
        """The route, its passages, and for a knowledge question the hits behind them."""
        idiom = router.find_idiom(text)
        if idiom is not None:
            return "idiom", [router.idiom_passage(idiom)], []
        if router.is_smalltalk(text):
            return "smalltalk", [], []
        if self.settings.router == "model":
            routed = await router.route_with_model(self.engine, text)
            if routed == "smalltalk":
                return "smalltalk", [], []
        k = self.settings.knowledge_k
        hits = await router.search_knowledge(self._knowledge(), text, lang, k, previous)
        passages = router.knowledge_passages(hits, text, k)
        for p in passages:
            p.text = self.policy.clean_document(p.text, doc_id=p.doc_id)
        return "knowledge", passages, hits

    async def _write(self, turn: Turn, plan: _Plan) -> None:
        """Build the written answer's prompt into the plan (not needed, and not built, when
        the answer is extracted: fitting a long history may ask the model for a summary)."""
        plan.messages, plan.passages = await self._prompt(
            turn, turn.text.strip(), plan.lang, plan.passages, plan.max_tokens)
        plan.unsourced = (plan.kind == "knowledge" and not plan.passages
                          and self.settings.note_unsourced)

    async def _prompt(self, turn: Turn, text: str, lang: str, passages: list[Passage],
                      max_tokens: int) -> tuple[list[Message], list[Passage]]:
        budget = self.engine.context_size - max_tokens - 16
        memory_budget = min(self.settings.memory_tokens, max(64, budget // 3))
        app_instructions = "\n".join(m.content for m in turn.history if m.role == "system")
        if turn.history:
            history = await fit_history(
                self.engine, [m for m in turn.history if m.role != "system"], memory_budget,
                self.settings.summary_tokens)
        elif self._remembers(turn):
            history = await self.memory.context(turn.user_id, self._conversation(turn),
                                                memory_budget)
        else:
            history = []
        # a summary of earlier turns is context, not a separate system message
        summaries = [m.content for m in history if m.role == "system"]
        history = [m for m in history if m.role != "system"]
        user = Message(role="user", content=text)
        used = await self.engine.count_tokens([*history, user])
        system, kept = await fit_passages(
            self.engine, lang, passages, budget - used,
            "\n".join([app_instructions, *summaries]).strip())
        return [Message(role="system", content=system), *history, user], kept

    def _extractive(self, passage: Passage, lang: str) -> Reply:
        """A weak language with a source in it: the source's own words, not the model's."""
        excerpt = shorten(passage.text.strip(), 600, lang)
        citation = _citation(passage)
        text = f"{t('core.weak_language_found', lang)}\n{excerpt} [1]"
        return Reply(text, lang, [citation], kind="knowledge")

    async def _extract(self, turn: Turn, plan: _Plan) -> Reply | None:
        """The cited span that answers the question, shaped for the channel; None when the
        grounded pipeline finds no answer, or when its span holds the mark of a sentence
        the policy removed from a source (an instruction planted there): the written
        answer is given instead. The pipeline reads the passages as the policy cleans
        them (already logged when the router retrieved them)."""
        from zhiyan.knowledge.grounded import answer_stream

        def clean(text: str, doc_id: str) -> str:
            return self.policy.clean_document(text, doc_id=doc_id, log=False)

        found: Reply | None = None
        async for event in answer_stream(self.engine, self._knowledge(), turn.text.strip(),
                                         plan.lang, min(_EXTRACT_TOKENS, plan.max_tokens),
                                         clean, plan.hits):
            found = event.reply or found
        if found is None or found.kind != "knowledge" or not found.citations:
            return None
        if REMOVED in found.text:
            return None
        decision = self.policy.check_output(found.text, plan.lang, user_id=turn.user_id,
                                            channel=turn.channel)
        if decision.refused:
            return Reply(decision.message or t("core.refusal", plan.lang), plan.lang,
                         kind="refusal", policy_rule=decision.rule)
        sources = [(c.number, c.title) for c in found.citations]
        text = shape(found.text, lang=plan.lang, markdown=turn.markdown,
                     max_chars=turn.max_chars, sources=sources, notes=[])
        return Reply(text, plan.lang, found.citations, kind="knowledge",
                     finish_reason=found.finish_reason)

    async def _remember(self, turn: Turn, reply: Reply) -> None:
        if self._remembers(turn) and reply.kind not in ("refusal", "error"):
            conversation = self._conversation(turn)
            await self.memory.append(turn.user_id, conversation, "user", turn.text.strip())
            await self.memory.append(turn.user_id, conversation, "assistant", reply.text)

    async def _generate(self, turn: Turn, plan: _Plan) -> AsyncIterator[ReplyEvent]:
        request = ChatRequest(
            messages=plan.messages, max_tokens=plan.max_tokens,
            temperature=self.settings.temperature if turn.temperature is None
            else turn.temperature,
            stop=list(turn.stop), seed=turn.seed, grammar=turn.grammar,
        )
        if turn.top_p is not None:
            request.top_p = turn.top_p
        parts: list[str] = []
        released = 0
        usage: Usage | None = None
        finish = "stop"
        refusal = None
        started = False
        stream = self.engine.chat_stream(request)
        try:
            async for chunk in stream:
                if not started:
                    started = True
                    yield ReplyEvent(delta="")
                parts.append(chunk.delta)
                usage = chunk.usage or usage
                finish = chunk.finish_reason or finish
                if not chunk.delta:
                    continue
                text = "".join(parts)
                decision = self.policy.check_output(text, plan.lang, log=False)
                if decision.refused:
                    refusal = decision
                    break
                safe = len(text) - self.settings.holdback_chars
                if not plan.buffered and safe > released:
                    yield ReplyEvent(delta=text[released:safe])
                    released = safe
        finally:
            await stream.aclose()
        if not started:
            yield ReplyEvent(delta="")
        raw = "".join(parts)
        streamed = raw[:released]
        if refusal is not None:
            self.policy.check_output(raw, plan.lang, user_id=turn.user_id, channel=turn.channel)
            text = refusal.message or t("core.refusal", plan.lang)
            reply = Reply(text, plan.lang, kind="refusal", policy_rule=refusal.rule,
                          finish_reason="stop", usage=usage)
            yield ReplyEvent(delta=("\n\n" if streamed else "") + text)
            yield ReplyEvent(reply=reply)
            return
        self.policy.check_output(raw, plan.lang, user_id=turn.user_id, channel=turn.channel)
        reply = self._finish(turn, plan, raw if streamed else raw.strip(), finish, usage)
        if reply.text.startswith(streamed):
            rest = reply.text[len(streamed):]
        else:
            rest = "\n\n" + reply.text
        if rest:
            yield ReplyEvent(delta=rest)
        await self._remember(turn, reply)
        yield ReplyEvent(reply=reply)

    def _finish(self, turn: Turn, plan: _Plan, answer: str, finish: str,
                usage: Usage | None) -> Reply:
        if turn.grammar:
            # the caller asked for text in an exact form: notes or sources would break it
            return Reply(answer, plan.lang, kind="answer", finish_reason=finish, usage=usage)
        lang, notes = plan.lang, []
        kind = plan.kind if plan.kind == "idiom" or plan.passages else "answer"
        found = language.detect(answer[:400]) if len(answer) >= _LANG_CHECK_MIN_CHARS \
            else language.Detection(lang, 0.0, "none")
        sister = frozenset({lang, found.lang}) in _SISTERS
        wrong = found.lang not in (lang, language.UNDETERMINED) and not sister
        if wrong and plan.weak:
            # never hand a Hausa reader an English answer without saying so
            return Reply(t("core.weak_language_none", lang), lang, kind="dont_know",
                         finish_reason=finish, usage=usage)
        if wrong or (sister and found.confidence > 0):  # > 0: words only the other uses
            notes.append(t("core.wrong_language", lang))
        if plan.unsourced:
            notes.append(t("core.not_from_sources", lang))
        citations: list[Citation] = []
        if plan.passages:
            cited = {int(n) for n in _CITE.findall(answer)}
            chosen = [p for p in plan.passages if p.number in cited] or plan.passages
            citations = [_citation(p) for p in chosen]
        sources = [(c.number, c.title) for c in citations]
        text = shape(answer, lang=lang, markdown=turn.markdown, max_chars=turn.max_chars,
                     sources=sources, notes=notes)
        return Reply(text, lang, citations, kind=kind, finish_reason=finish, usage=usage)


def _citation(p: Passage) -> Citation:
    return Citation(number=p.number, doc_id=p.doc_id, title=p.title, version=p.version,
                    chunk_id=p.chunk_id, snippet=p.text[:200], source=p.source)
