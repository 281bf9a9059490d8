"""From a customer message to ranked candidates with a calibrated confidence."""

from app.matching.calibration import FEATURES, ranking_features
from app.matching.index import SearchIndex
from app.matching.normalize import Normalized
from app.matching.types import Match


def match(
    index: SearchIndex,
    text: str,
    *,
    language: str | None = None,
    top: int = 3,
    normalized: Normalized | None = None,
) -> Match:
    """Matches one message; `language` is the customer's if known, else it is detected.
    `normalized`: the message through `index.normalizer`, if the caller has it already."""
    if normalized is None:
        normalized = index.normalizer.normalize(text)
    detected = normalized.language or language
    preferred = language or detected
    if not len(index) or not normalized.words:
        return no_match(index, normalized, language)
    ranking = index.rank(normalized, index.vectorize(normalized), language=preferred)
    features = ranking_features(ranking, normalized, index.known_share(normalized))
    confidence = index.calibrator.confidence(features) if ranking.scores[0] > 0 else 0.0
    return Match(
        candidates=index.candidates(ranking, normalized, top),
        confidence=round(confidence, 4),
        language=detected,
        normalized=normalized.text,
        conversions=normalized.conversions,
        kb_version=index.version,
        known_words=tuple(w for w in normalized.words if w in index.word_counts),
        features=dict(zip(FEATURES, (round(float(f), 4) for f in features), strict=True)),
    )


def no_match(index: SearchIndex, normalized: Normalized, language: str | None) -> Match:
    """The Match of a message nothing in `index` can be about; `language` as for match()."""
    return Match(
        candidates=(),
        confidence=0.0,
        language=normalized.language or language,
        normalized=normalized.text,
        conversions=normalized.conversions,
        kb_version=index.version,
    )
