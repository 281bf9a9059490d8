"""A linear classifier over phrasings: each article is a class, each phrasing an example.

Retrieval alone compares a message with one phrasing at a time; the classifier learns which
words tell close articles apart, which is what lifts accuracy on fine-grained intents.
A Crammer-Singer multi-class linear SVM beat logistic regression and one-vs-rest SVMs on
CLINC150 and BANKING77 here (93.2% / 92.2% top-1 against 92.6% / 91.1% and 92.9% / 91.7%),
and with a loose tolerance it trains in seconds (see docs/BENCHMARKS.md).
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import _sparsetools
from sklearn.svm import LinearSVC

from app.matching.features import QueryVector

# Turns SVM margins into a soft distribution; the calibrator decides what it means.
MARGIN_SCALE = 8.0


@dataclass(frozen=True, slots=True)
class PhrasingClassifier:
    coef: np.ndarray  # features x articles, float32, so a query is one sparse-dense product
    intercept: np.ndarray  # articles; a large negative value for an article with no phrasing

    @classmethod
    def fit(
        cls, features: sp.csr_matrix, labels: np.ndarray, articles: int, *, c: float = 1.0
    ) -> "PhrasingClassifier":
        coef = np.zeros((features.shape[1], articles), dtype=np.float32)
        intercept = np.full(articles, -1e3, dtype=np.float32)
        classes = np.unique(labels)
        if len(classes) < 2:
            intercept[classes] = 0.0
            return cls(coef=coef, intercept=intercept)
        # tol=0.1 gave the same accuracy as 1e-4 on both benchmarks at a tenth of the time.
        model = LinearSVC(C=c, multi_class="crammer_singer", tol=0.1, random_state=0)
        model.fit(features, labels)
        if len(classes) == 2 and model.coef_.shape[0] == 1:  # one hyperplane: half each side
            coef[:, classes[1]] = model.coef_[0] / 2
            coef[:, classes[0]] = -model.coef_[0] / 2
            intercept[classes[1]] = model.intercept_[0] / 2
            intercept[classes[0]] = -model.intercept_[0] / 2
        else:
            coef[:, classes] = model.coef_.T
            intercept[classes] = model.intercept_
        return cls(coef=coef, intercept=intercept)

    def margins(self, vector: QueryVector) -> np.ndarray:
        """vector @ coef + intercept, by scipy's own sparse-dense kernel called directly."""
        coef = self.coef
        result = self.intercept.copy()
        indptr = np.array([0, vector.nnz], dtype=vector.indices.dtype)
        data = vector.data.astype(coef.dtype, copy=False)
        _sparsetools.csr_matvecs(
            1, coef.shape[0], coef.shape[1], indptr, vector.indices, data, coef.ravel(), result
        )
        return result

    def probabilities(self, margins: np.ndarray) -> np.ndarray:
        logits = margins * MARGIN_SCALE
        logits -= logits.max()
        exp = np.exp(logits)
        return (exp / exp.sum()).astype(np.float32)
