"""The synonyms ``data.augmentation.text.synonym_swap`` swaps: a small hand-written English list.

Why a list of our own: WordNet, what augmentation libraries use, is a corpus download that fails
offline (nltk, wn), and nearest neighbours in an encoder's embeddings put antonyms side by side
(``good`` / ``bad``). These groups are written out here, so a swap is reproducible, reviewable and
needs nothing at run time. Each group holds words interchangeable in their common sense in informal
English, including the SMS spellings of the same word (``tomorrow`` / ``tmrw``); a word is in at most
one group, and swapping is symmetric within a group. Words outside the list are never swapped, so on
other text the share of words swapped is lower than ``synonym_swap`` (the run reports the count).
One-letter spellings (``u`` for ``you``) are left out: the TF-IDF tokens ignore single letters, so the
swap would delete the word. English only.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["GROUPS", "SYNONYMS"]

GROUPS: tuple[tuple[str, ...], ...] = (
    # feelings and judgements
    ("happy", "glad"), ("sad", "unhappy"), ("sick", "ill", "unwell"), ("tired", "exhausted"),
    ("scared", "afraid", "frightened"), ("worried", "anxious"), ("funny", "hilarious"),
    ("great", "gr8", "excellent", "fantastic"), ("awesome", "amazing"), ("awful", "terrible", "horrible"),
    ("nice", "pleasant"), ("beautiful", "lovely", "gorgeous"), ("smart", "clever", "intelligent"),
    ("stupid", "dumb"), ("wrong", "incorrect"), ("sure", "certain"), ("important", "significant"),
    ("hate", "detest"),
    # size, speed, amount, price
    ("big", "large"), ("huge", "enormous", "massive"), ("small", "little"), ("quick", "fast", "rapid"),
    ("quickly", "rapidly"), ("easy", "simple"), ("hard", "difficult"), ("lots", "loads", "plenty"),
    ("many", "numerous"), ("cheap", "inexpensive"), ("expensive", "costly", "pricey"), ("rich", "wealthy"),
    ("latest", "newest"),
    # how often, how sure, when
    ("maybe", "perhaps"), ("probably", "likely"), ("often", "frequently"), ("soon", "shortly"),
    ("almost", "nearly"), ("very", "really"), ("anyway", "anyhow"),
    # doing
    ("begin", "start"), ("buy", "purchase"), ("choose", "pick", "select"), ("talk", "chat", "speak"),
    ("answer", "reply"), ("need", "require"), ("try", "attempt"), ("stay", "remain"),
    ("enquire", "inquire"), ("show", "display"),
    # things and people
    ("prize", "award", "reward"), ("money", "cash"), ("offer", "deal"), ("phone", "mobile"),
    ("message", "msg"), ("text", "txt"), ("movie", "film"), ("shop", "store"), ("story", "tale"),
    ("problem", "issue"), ("question", "query"), ("info", "information"), ("customer", "client"),
    ("holiday", "vacation"), ("trip", "journey"), ("cost", "price"), ("car", "vehicle"),
    ("dinner", "supper"), ("friend", "mate", "pal"), ("kid", "child"), ("kids", "children"),
    ("mum", "mom", "mother"), ("dad", "father"), ("everyone", "everybody"), ("someone", "somebody"),
    ("anyone", "anybody"), ("minutes", "mins"), ("hours", "hrs"),
    # SMS spellings and greetings
    ("your", "ur"), ("tomorrow", "tmrw", "tmr"), ("tonight", "tonite"), ("please", "pls", "plz"),
    ("thanks", "thx"), ("because", "cos", "coz", "cuz"), ("later", "l8r"), ("ok", "okay"),
    ("yeah", "yep", "yes"), ("hi", "hello", "hey"), ("bye", "goodbye"),
)

# word -> the other words of its group
SYNONYMS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {word: tuple(w for w in group if w != word) for group in GROUPS for word in group})
