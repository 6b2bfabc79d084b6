"""Choose the idiom for a blank (ChID / FewCLUE CHID: `content` with one `#idiom#`,
`candidates`, `answer`) by combining the language model with idiom knowledge.

Per candidate, these signals, each centred per item (minus the best candidate's value) so
their scales match from one passage to the next:

- `lm_fill`: log-probability of the candidate plus `suffix_chars` characters after the
  blank, given `prefix_chars` characters before it. Most of what the model knows about fit
  lives here.
- `lm_idiom` and `lm_fill@K` (K characters after the blank): the same forced decode cut at
  other points (the engine's `score_pieces`), so they cost nothing extra.
- `lm_prior`: log-probability of the candidate after a neutral prompt, i.e. how common the
  idiom is; with a negative weight it turns likelihood into pointwise mutual information.
  Measured on train: no gain, and ~1.2 s per item, so not used by default.
- `meaning`: BM25 of the candidate's dictionary explanation against the words around the
  blank, and `meaning_e5`: e5 cosine of the same: the knowledge a 1.5B model lacks about
  rare idioms.

The weights of a softmax over candidates are fitted on training data only (`fit`), and the
fitted values live in `WEIGHTS`.

Solving is a two-step shortlist, because forced tokens are the whole cost (~50 ms each on
2 cores, one at a time): every candidate's idiom alone is scored and combined with the
knowledge features (`SHORTLIST_WEIGHTS`). When that first step is sure (`CONFIDENT`) its
best candidate is the answer; otherwise only the best `SHORTLIST` candidates have the text
after the blank scored too (the idiom read as context, not forced again), and `WEIGHTS`
decide among them.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field

from zhiyan.chengyu.dictionary import get_dictionary, has_chinese, to_simplified
from zhiyan.chengyu.meaning import get_dense_meaning, get_meaning_index
from zhiyan.engine.base import Engine
from zhiyan.engine.errors import EngineError
from zhiyan.i18n import t

log = logging.getLogger(__name__)

BLANK = "#idiom#"
LEAD = "文章："  # llama.cpp refuses an empty prompt, and a blank may open the passage
PRIOR_PROMPT = "成语："
PREFIX_CHARS = 160  # text before the blank the model sees
SUFFIX_CHARS = 4  # text after the blank scored with each shortlisted candidate
CONTEXT_CHARS = 40  # characters each side of the blank compared with explanations
FEATURES = ("lm_fill", "lm_idiom", "lm_prior", "meaning", "meaning_e5")

#: Both steps' weights are fitted on all 202 FewCLUE CHID train items (train only; see
#: docs/benchmarks.md, chengyu), from one run that computes every feature:
#:   zhiyan eval chid ../shared/data/chid_fewclue_train.jsonl \
#:     --features lm_idiom,lm_fill,lm_fill@2,lm_fill@4,meaning,meaning_e5 --progress train.jsonl
#:   zhiyan eval chid-fit train.jsonl --features lm_fill@4,meaning,meaning_e5
#: (`lm_fill@4` there is `lm_fill` here, at SUFFIX_CHARS = 4) …
WEIGHTS: dict[str, float] = {"lm_fill": 0.3925, "lm_idiom": 0.0, "lm_prior": 0.0,
                             "meaning": 11.7624, "meaning_e5": 26.2009}
#: … and `zhiyan eval chid-fit train.jsonl --features lm_idiom,meaning,meaning_e5`.
SHORTLIST_WEIGHTS: dict[str, float] = {"lm_idiom": 0.4414, "meaning": 11.0924,
                                       "meaning_e5": 27.8867}
#: On the same train items (5-fold cross-validation), a shortlist of 3 with 4 characters
#: after the blank chose as well as all seven with 6 (76.2-76.7% for both over three fold
#: splits), and in one session's timing the model took 0.68 of the time (median 2.30 s
#: against 3.36 s an item).
SHORTLIST = 3
#: … and when the first step alone gives its best candidate at least this probability (a
#: softmax over its combined scores), that candidate is taken without the second step: on
#: the same train items, 57% of them, at no loss (5-fold CV 76.7-77.2% against 76.2-76.7%).
#: Both together, held-out dev: 71.3% at 2.7 s an item (the solver before: 72.3% at 4.6 s).
CONFIDENT = 0.6


class ClozeInputError(ValueError):
    """A cloze request that cannot be solved as given. `str()` says why in English (logs,
    the CLI); `message(lang)` says it in the user's language (i18n `chengyu.cloze_<key>`)."""

    def __init__(self, key: str, english: str, **values: object) -> None:
        super().__init__(english)
        self.key = key
        self.values = values

    def message(self, lang: str | None) -> str:
        reason = t(f"chengyu.cloze_{self.key}", lang, **self.values)
        return t("chengyu.cloze_bad", lang, reason=reason)


@dataclass
class ClozeItem:
    content: str
    candidates: list[str]
    answer: int | None = None
    id: str | None = None

    @property
    def before(self) -> str:
        return self.content.split(BLANK, 1)[0]

    @property
    def after(self) -> str:
        return self.content.split(BLANK, 1)[1]


def parse_item(content: object, candidates: object, answer: object = None,
               item_id: object = None) -> ClozeItem:
    """Validate one cloze item, saying exactly what is wrong with a bad one."""
    if not isinstance(content, str) or not content.strip():
        raise ClozeInputError("no_content", "content must be a non-empty string")
    blanks = content.count(BLANK)
    if blanks != 1:
        raise ClozeInputError("blanks", f"content must contain exactly one {BLANK} blank, "
                              f"found {blanks}", found=blanks)
    if not isinstance(candidates, list):
        raise ClozeInputError("not_list", "candidates must be a list of idioms")
    if not 2 <= len(candidates) <= 20:
        raise ClozeInputError("count", f"candidates must list 2 to 20 idioms, got "
                              f"{len(candidates)}", got=len(candidates))
    cleaned: list[str] = []
    for i, candidate in enumerate(candidates):
        if not isinstance(candidate, str) or not candidate.strip():
            raise ClozeInputError("empty_candidate", f"candidate {i} must be a non-empty "
                                  "string", n=i + 1)
        if BLANK in candidate or "\n" in candidate or len(candidate.strip()) > 20 \
                or not has_chinese(candidate):
            raise ClozeInputError("not_idiom", f"candidate {i} is not an idiom: "
                                  f"{candidate[:30]!r}", n=i + 1, text=candidate[:30])
        cleaned.append(candidate.strip())
    # 畫蛇添足 and 画蛇添足 are one idiom: the solver would split its score between them
    if len({to_simplified(c) for c in cleaned}) != len(cleaned):
        raise ClozeInputError("repeat", "candidates must not repeat")
    if answer is not None and (not isinstance(answer, int) or not 0 <= answer < len(cleaned)):
        raise ClozeInputError("answer", f"answer must be an index into candidates, got "
                              f"{answer!r}")
    return ClozeItem(content, cleaned, answer, None if item_id is None else str(item_id))


@dataclass
class ClozeResult:
    choice: int
    scores: list[float]
    features: dict[str, list[float]] = field(default_factory=dict)
    #: False when the model could not score this item and idiom knowledge alone decided
    used_model: bool = True
    #: the candidates whose text after the blank was scored (`lm_fill` is NaN for the
    #: rest); empty when the first step was sure enough
    shortlist: list[int] = field(default_factory=list)


def knowledge_features(item: ClozeItem) -> list[float]:
    """Meaning-vs-context similarity per candidate (0 for idioms not in the dictionary)."""
    index = get_meaning_index()
    context = item.before[-CONTEXT_CHARS:] + item.after[:CONTEXT_CHARS]
    return [index.similarity(context, get_dictionary_word(c)) for c in item.candidates]


def dense_context(item: ClozeItem) -> str:
    """The words around the blank, as e5 reads them against explanations."""
    return item.before[-CONTEXT_CHARS:] + "（成语）" + item.after[:CONTEXT_CHARS]


def dense_features(item: ClozeItem) -> list[float]:
    """e5 cosine of the words around the blank against each candidate's explanation."""
    return get_dense_meaning().similarities(dense_context(item), item.candidates)


def get_dictionary_word(candidate: str) -> str:
    idiom = get_dictionary().lookup(candidate)
    return idiom.word if idiom else candidate


def combine(features: dict[str, list[float]], weights: dict[str, float]) -> list[float]:
    """Weighted sum of the per-item centred features."""
    n = len(next(iter(features.values())))
    totals = [0.0] * n
    for name, weight in weights.items():
        if weight == 0.0 or name not in features:
            continue
        values = features[name]
        top = max(values)
        for i, v in enumerate(values):
            totals[i] += weight * (v - top)
    return totals


class ClozeSolver:
    """Scores candidates with one engine; caches each idiom's prior across items."""

    def __init__(self, engine: Engine, weights: dict[str, float] | None = None, *,
                 prefix_chars: int | None = None, suffix_chars: int | None = None,
                 shortlist: int = SHORTLIST,
                 shortlist_weights: dict[str, float] | None = None,
                 confident: float = CONFIDENT) -> None:
        self.engine = engine
        self.prefix_chars = PREFIX_CHARS if prefix_chars is None else prefix_chars
        self.suffix_chars = SUFFIX_CHARS if suffix_chars is None else suffix_chars
        self.weights = dict(WEIGHTS if weights is None else weights)
        self.shortlist = shortlist
        self.confident = confident
        self.shortlist_weights = dict(SHORTLIST_WEIGHTS if shortlist_weights is None
                                      else shortlist_weights)
        self._priors: dict[str, float] = {}
        self.unscored = 0

    async def _score(self, prompt: str, choices: list[str]) -> list[float]:
        """`score_choices`, tolerating choices the engine cannot score (an engine error on
        one choice): such a choice is scored as the worst of the others rather than losing
        the whole item; `unscored` counts them. (Characters the tokenizer splits into
        bytes, 嚬 in 一嚬一笑, were such choices until the engine learned to score them.)
        """
        totals = await self._score_pieces(prompt, [[c] for c in choices])
        return [t[0] for t in totals]

    async def _pieces(self, prompt: str, choices: list[list[str]],
                      given: int = 0) -> list[list[float]]:
        """Per choice, the cumulative log-probability after each of its pieces (after the
        first `given` pieces, which are read as context and not scored)."""
        score_pieces = getattr(self.engine, "score_pieces", None)
        if score_pieces is not None:
            per_piece = await score_pieces(prompt, choices, given)
            return [list(itertools.accumulate(p)) for p in per_piece]
        # an engine without piece scoring: one scored string per prefix of the pieces
        if given:
            return [(await self._pieces(prompt + "".join(c[:given]), [c[given:]]))[0]
                    for c in choices]
        flat = [["".join(c[:k + 1]) for k in range(len(c))] for c in choices]
        scores = await self.engine.score_choices(prompt, [t for f in flat for t in f])
        out, at = [], 0
        for f in flat:
            out.append(scores[at:at + len(f)])
            at += len(f)
        return out

    async def _score_pieces(self, prompt: str, choices: list[list[str]],
                            given: int = 0) -> list[list[float]]:
        try:
            return await self._pieces(prompt, choices, given)
        except EngineError:
            if len(choices) == 1:
                raise
        scores: list[list[float] | None] = []
        for choice in choices:
            try:
                scores.extend(await self._pieces(prompt, [choice], given))
            except EngineError:
                scores.append(None)
        known = [s for s in scores if s is not None]
        if not known:
            raise EngineError("the model could not score any choice")
        self.unscored += len(scores) - len(known)
        worst = [min(s[k] for s in known) for k in range(len(known[0]))]
        return [worst if s is None else s for s in scores]

    async def lm_features(self, item: ClozeItem, names: set[str],
                          idiom: list[float] | None = None) -> dict[str, list[float]]:
        """`lm_idiom`, `lm_fill` and any `lm_fill@K` (K characters after the blank) from ONE
        forced decode per candidate: the idiom, then the text after it in pieces. With
        `idiom` (each candidate's `lm_idiom`, already scored) the idioms are read as
        context and only the text after them is forced."""
        wanted = {n for n in names if n == "lm_fill" or n.startswith("lm_fill@")}
        ends = sorted({self.suffix_chars if n == "lm_fill" else int(n.split("@", 1)[1])
                       for n in wanted})
        after = item.after
        cuts = [0, *ends]
        tail = [after[cuts[i]:cuts[i + 1]] for i in range(len(ends))]
        prompt = LEAD + item.before[-self.prefix_chars:]
        try:
            if idiom is None:
                totals = await self._score_pieces(prompt, [[c, *tail] for c in item.candidates])
            else:
                rest = await self._score_pieces(prompt, [[c, *tail] for c in item.candidates],
                                                given=1)
                totals = [[i, *(i + r for r in rs)] for i, rs in zip(idiom, rest, strict=True)]
        except EngineError:
            if not any(tail):
                raise
            # the shared text after the blank holds a piece the engine cannot force
            if idiom is None:
                idiom = [t[0] for t in
                         await self._score_pieces(prompt, [[c] for c in item.candidates])]
            totals = [[i] * (len(ends) + 1) for i in idiom]
        out: dict[str, list[float]] = {}
        if "lm_idiom" in names:
            out["lm_idiom"] = [t[0] for t in totals]
        for n in wanted:
            end = self.suffix_chars if n == "lm_fill" else int(n.split("@", 1)[1])
            out[n] = [t[1 + ends.index(end)] for t in totals]
        return out

    async def features(self, item: ClozeItem,
                       want: tuple[str, ...] | None = None) -> dict[str, list[float]]:
        """The signals per candidate: `want`, or those with a weight (to fit, ask for all)."""
        names = set(want if want is not None else (k for k, w in self.weights.items() if w))
        out: dict[str, list[float]] = {}
        if any(n.startswith("lm_fill") or n == "lm_idiom" for n in names):
            out.update(await self.lm_features(item, names))
        if "lm_prior" in names:
            missing = [c for c in item.candidates if c not in self._priors]
            if missing:
                for c, s in zip(missing, await self._score(PRIOR_PROMPT, missing),
                                strict=True):
                    self._priors[c] = s
            out["lm_prior"] = [self._priors[c] for c in item.candidates]
        if "meaning" in names:
            out["meaning"] = knowledge_features(item)
        if "meaning_e5" in names:
            out["meaning_e5"] = dense_features(item)
        return out

    async def solve(self, item: ClozeItem) -> ClozeResult:
        """The best candidate, by the two-step shortlist (`SHORTLIST`; a solver made with
        `shortlist=0` scores every candidate's text after the blank in one pass), the first
        step deciding alone when it is `confident` (then `shortlist` is empty). If the
        engine refuses to score (a backend error), the explanations alone decide rather
        than the request failing; `used_model` says so."""
        n = len(item.candidates)
        knowledge = {"meaning": knowledge_features(item), "meaning_e5": dense_features(item)}
        try:
            if not 0 < self.shortlist < n:
                features = {**knowledge, **await self.lm_features(item, {"lm_fill"})}
                scores = combine(features, self.weights)
                return ClozeResult(max(range(n), key=scores.__getitem__), scores, features,
                                   shortlist=list(range(n)))
            features = {**knowledge, **await self.lm_features(item, {"lm_idiom"})}
            first = combine(features, self.shortlist_weights)
            order = sorted(range(n), key=first.__getitem__, reverse=True)
            if 1 / sum(math.exp(v - first[order[0]]) for v in first) >= self.confident:
                return ClozeResult(order[0], first, features)  # sure enough: no second step
            short, rest = order[:self.shortlist], order[self.shortlist:]
            fill = await self.lm_features(
                ClozeItem(item.content, [item.candidates[i] for i in short]), {"lm_fill"},
                idiom=[features["lm_idiom"][i] for i in short])
        except EngineError as exc:
            log.warning("cloze: the model could not score, using idiom knowledge only: %s", exc)
            scores = combine(knowledge, {k: self.weights.get(k, 0.0) or 1.0 for k in knowledge})
            return ClozeResult(max(range(n), key=scores.__getitem__), scores,
                               knowledge, used_model=False)
        final = combine({**{k: [v[i] for i in short] for k, v in knowledge.items()}, **fill},
                        self.weights)
        # shortlisted candidates by the final score; the others below them, in first-step order
        scores = [0.0] * n
        for i, score in zip(short, final, strict=True):
            scores[i] = score
        floor = min(final)
        for rank, i in enumerate(rest, 1):
            scores[i] = floor - rank
        features["lm_fill"] = [fill["lm_fill"][short.index(i)] if i in short else math.nan
                               for i in range(n)]
        return ClozeResult(short[max(range(len(short)), key=final.__getitem__)], scores,
                           features, shortlist=short)


async def choose_for_blank(passage: str, candidates: list[str], engine: Engine) -> int:
    """The index of the candidate that best fills the one `#idiom#` blank in `passage`."""
    result = await ClozeSolver(engine).solve(parse_item(passage, candidates))
    return result.choice


def fit(rows: list[tuple[dict[str, list[float]], int]], names: tuple[str, ...] = FEATURES,
        *, epochs: int = 400, rate: float = 0.05, l2: float = 1e-3) -> dict[str, float]:
    """Weights of a softmax over candidates (conditional logit), by gradient ascent on the
    log-likelihood of the right answers. Features are scaled by their spread first so one
    learning rate suits all; the returned weights apply to the raw centred features."""
    centred = [
        ({k: [v - max(f[k]) for v in f[k]] for k in names}, answer) for f, answer in rows
    ]
    spread = {}
    for k in names:
        values = [v for f, _ in centred for v in f[k]]
        mean = sum(values) / len(values)
        spread[k] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    w = dict.fromkeys(names, 0.0)
    for _ in range(epochs):
        grad = dict.fromkeys(names, 0.0)
        for f, answer in centred:
            n = len(f[names[0]])
            logits = [sum(w[k] * f[k][i] / spread[k] for k in names) for i in range(n)]
            top = max(logits)
            exps = [math.exp(x - top) for x in logits]
            z = sum(exps)
            for k in names:
                expected = sum(exps[i] / z * f[k][i] / spread[k] for i in range(n))
                grad[k] += f[k][answer] / spread[k] - expected
        for k in names:
            w[k] += rate * (grad[k] / len(centred) - l2 * w[k])
    return {k: round(w[k] / spread[k], 4) for k in names}


def accuracy(rows: list[tuple[dict[str, list[float]], int]], weights: dict[str, float]) -> float:
    right = 0
    for f, answer in rows:
        scores = combine(f, weights)
        right += max(range(len(scores)), key=scores.__getitem__) == answer
    return right / len(rows) if rows else 0.0
