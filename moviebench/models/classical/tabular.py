"""Classical models on tabular features: logistic regression (ridge for a number), random
forest, XGBoost, LightGBM, CatBoost. Each rung offers a `classifier()` and, where it can estimate a
number, a `regressor()`; the task's target kind picks and wraps one (moviebench.targets).

The tree rungs declare caps (models/caps.py): each tree sees at most `max_tree_rows` training
rows (a forest's bootstrap, a booster's row sample), and boosting stops at `n_estimators`
rounds. Neither binds up to 50,000 training rows; the record's `capped` says when one did."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from moviebench import threads
from moviebench.models import Model, register_model
from moviebench.models.caps import CAP_ROWS, capped_share, join_caps
from moviebench.targets import CLASSIFICATION, REGRESSION, TargetKind
from moviebench.tasks.base import TaskData


def lightgbm_early_stopping(X_val: Any, y_val: Any, rounds: int) -> dict[str, Any]:
    """fit() arguments for LightGBM early stopping on a validation set."""
    import lightgbm

    # LightGBM 4.7 renamed eval_set to eval_X / eval_y; older releases know only eval_set.
    if tuple(int(p) for p in lightgbm.__version__.split(".")[:2]) >= (4, 7):
        data = {"eval_X": X_val, "eval_y": y_val}
    else:
        data = {"eval_set": [(X_val, y_val)]}
    return {**data, "callbacks": [lightgbm.early_stopping(rounds, verbose=False)]}


class SklearnTabular(Model):
    """A scikit-learn pipeline over the task's tabular features."""

    family = "classical"
    inputs = frozenset({"tabular"})
    targets = CLASSIFICATION | {REGRESSION}

    def classifier(self) -> Any:
        raise NotImplementedError

    def regressor(self) -> Any:
        raise NotImplementedError

    def make_pipeline(self, target: TargetKind) -> Pipeline:
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True),
            StandardScaler(),
            target.estimator(self),
        )

    def fit(self, train: TaskData, val: TaskData) -> None:
        self.pipeline_ = self.make_pipeline(train.target)
        self.pipeline_.fit(train.tabular(), train.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return data.target.estimator_scores(self.pipeline_, data.tabular(), data.n_outputs)


@register_model
class LogReg(SklearnTabular):
    name = "logreg"
    summary = "logistic regression on standardised features"
    targets = CLASSIFICATION
    defaults = {"C": 1.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000, random_state=self.context.seed)

    def n_params(self) -> int:
        return linear_params(self.pipeline_[-1])


@register_model
class RidgeRegression(SklearnTabular):
    name = "ridge"
    summary = "ridge regression on standardised features: the linear rung for a number"
    targets = frozenset({REGRESSION})
    defaults = {"alpha": 1.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}

    def regressor(self) -> Any:
        return Ridge(alpha=self.params["alpha"])

    def n_params(self) -> int:
        return linear_params(self.pipeline_[-1])


def linear_params(estimator: Any) -> int:
    """Weights and intercepts of a linear model, one-vs-rest or not. A label that one-vs-rest
    answers with a constant (no positives in training) has no weights and counts nothing."""
    return int(
        sum(
            np.size(e.coef_) + np.size(e.intercept_)
            for e in getattr(estimator, "estimators_", [estimator])
            if hasattr(e, "coef_")
        )
    )


@register_model
class RandomForest(SklearnTabular):
    name = "random-forest"
    summary = "random forest, 300 trees, each bootstrapped from at most 50,000 rows"
    defaults = {
        "n_estimators": 300,
        "max_depth": 16,
        "min_samples_leaf": 2,
        "max_tree_rows": CAP_ROWS,  # a tree's bootstrap sample; the default draws every row
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 100, 600, step=100),
            "max_depth": trial.suggest_int("max_depth", 4, 32),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20, log=True),
        }

    def fit(self, train: TaskData, val: TaskData) -> None:
        cap = self.params["max_tree_rows"]
        # None (sklearn's default: n rows per bootstrap) where the cap does not bind, so the
        # forest is the very same one below it.
        self.max_samples_ = cap if cap and len(train.y) > cap else None
        if self.max_samples_:
            self.fitted_["capped"] = f"{cap:,} rows per tree (of {len(train.y):,})"
        super().fit(train, val)

    def _forest(self, cls: Any) -> Any:
        params = {k: v for k, v in self.params.items() if k != "max_tree_rows"}
        return cls(
            **params,
            max_samples=getattr(self, "max_samples_", None),
            n_jobs=threads.current(),
            random_state=self.context.seed,
        )

    def classifier(self) -> Any:
        return self._forest(RandomForestClassifier)

    def regressor(self) -> Any:
        return self._forest(RandomForestRegressor)

    def n_params(self) -> int:
        est = self.pipeline_[-1]
        forests = est.estimators_ if isinstance(est, OneVsRestClassifier) else [est]
        # A tree's "parameters" are its nodes: a split (feature, threshold) or a leaf value.
        return int(sum(t.tree_.node_count for f in forests for t in f.estimators_))


class BoostedTrees(SklearnTabular):
    """Gradient-boosted trees with early stopping on the validation split."""

    def make_pipeline(self, target: TargetKind) -> Pipeline:
        # Trees need no scaling and handle missing values themselves.
        return Pipeline([("model", target.estimator(self))])

    def fit(self, train: TaskData, val: TaskData) -> None:
        # Each round's trees see at most max_tree_rows rows: the row share, lowered where the
        # split is large (unchanged, so the same booster, where the cap does not bind).
        self.subsample_ = capped_share(
            self.params["subsample"], len(train.y), self.params["max_tree_rows"]
        )
        self.pipeline_ = self.make_pipeline(train.target)
        model = self.pipeline_[-1]
        # One-vs-rest fits one booster per label: no single validation set to stop on.
        stop = self.early_stopping_args(val) if self.stops_early(train.target) else {}
        model.fit(train.tabular(), train.y, **stop)
        caps = []
        if self.subsample_ != self.params["subsample"]:
            caps.append(f"{self.params['max_tree_rows']:,} rows per tree (of {len(train.y):,})")
        rounds = self.rounds()
        if rounds is not None:
            best, trained = rounds
            self.fitted_["best_round"] = best
            if trained >= self.params["n_estimators"]:  # early stopping never triggered
                caps.append(f"{self.params['n_estimators']:,} rounds")
        if caps:
            self.fitted_["capped"] = join_caps(caps)

    def stops_early(self, target: TargetKind) -> bool:
        """Whether one fit answers the kind, so it can early-stop on validation."""
        return target.early_stopping()

    def booster_params(self) -> dict[str, Any]:
        """The params the library's estimator takes: the capped row share for `subsample`."""
        params = {k: v for k, v in self.params.items() if k != "max_tree_rows"}
        return {**params, "subsample": getattr(self, "subsample_", params["subsample"])}

    def rounds(self) -> tuple[int, int] | None:
        """The booster's best round (what predictions use) and the rounds it trained; None
        for one-vs-rest, which fits a booster per label."""
        raise NotImplementedError


@register_model
class XGBoost(BoostedTrees):
    name = "xgboost"
    versioned_packages = ("xgboost",)
    summary = "XGBoost, early-stopped on the validation loss (log-loss, or squared error)"
    defaults = {
        "n_estimators": 1000,
        "learning_rate": 0.05,
        "max_depth": 6,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "max_tree_rows": int(0.8 * CAP_ROWS),  # the row sample's size, at most
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20, log=True),
        }

    def _booster(self, cls: Any) -> Any:
        return cls(
            **self.booster_params(),
            n_jobs=threads.current(),
            random_state=self.context.seed,
            early_stopping_rounds=50,
            tree_method="hist",
            verbosity=0,
        )

    def classifier(self) -> Any:
        from xgboost import XGBClassifier

        return self._booster(XGBClassifier)

    def regressor(self) -> Any:
        from xgboost import XGBRegressor

        return self._booster(XGBRegressor)

    def early_stopping_args(self, val: TaskData) -> dict[str, Any]:
        return {"eval_set": [(val.tabular(), val.y)], "verbose": False}

    def rounds(self) -> tuple[int, int] | None:
        model = self.pipeline_[-1]
        if hasattr(model, "estimators_"):
            return None
        trained = int(model.get_booster().num_boosted_rounds())
        best = getattr(model, "best_iteration", None)  # 0-based; None without early stopping
        return (trained if best is None else int(best) + 1), trained

    def n_params(self) -> int:
        booster = self.pipeline_[-1]
        boosters = [e.get_booster() for e in getattr(booster, "estimators_", [booster])]
        return int(sum(len(b.trees_to_dataframe()) for b in boosters))


@register_model
class LightGBM(BoostedTrees):
    name = "lightgbm"
    versioned_packages = ("lightgbm",)
    summary = "LightGBM, early-stopped on the validation loss (log-loss, or squared error)"
    defaults = {
        "n_estimators": 1000,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 0.0,
        "max_tree_rows": int(0.8 * CAP_ROWS),  # the row sample's size, at most
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 8, 256, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    def _booster(self, cls: Any) -> Any:
        return cls(
            **self.booster_params(),
            subsample_freq=1,
            n_jobs=threads.current(),
            random_state=self.context.seed,
            verbose=-1,
        )

    def classifier(self) -> Any:
        from lightgbm import LGBMClassifier

        return self._booster(LGBMClassifier)

    def regressor(self) -> Any:
        from lightgbm import LGBMRegressor

        return self._booster(LGBMRegressor)

    def early_stopping_args(self, val: TaskData) -> dict[str, Any]:
        return lightgbm_early_stopping(val.tabular(), val.y, rounds=50)

    def rounds(self) -> tuple[int, int] | None:
        model = self.pipeline_[-1]
        if hasattr(model, "estimators_"):
            return None
        trained = int(model.booster_.current_iteration())
        return int(model.best_iteration_ or trained), trained

    def n_params(self) -> int:
        model = self.pipeline_[-1]
        models = getattr(model, "estimators_", [model])
        return int(sum(m.booster_.trees_to_dataframe().shape[0] for m in models))


@register_model
class CatBoost(BoostedTrees):
    """CatBoost's symmetric trees. Genres are one booster over every label (MultiLogloss, not
    one-vs-rest), so every target kind early-stops on validation."""

    name = "catboost"
    summary = "CatBoost, early-stopped on the validation loss (one MultiLogloss booster for labels)"
    # TabArena's defaults (AutoGluon's CatBoost: learning rate 0.05, depth 6, l2 3), Bernoulli
    # row sampling so `subsample` is a row share that `max_tree_rows` can cap.
    defaults = {
        "n_estimators": 1000,
        "learning_rate": 0.05,
        "depth": 6,
        "l2_leaf_reg": 3.0,
        "subsample": 0.8,
        "colsample_bylevel": 1.0,
        "max_tree_rows": int(0.8 * CAP_ROWS),  # the row sample's size, at most
    }
    optional_packages = {"catboost": "tabular"}
    versioned_packages = ("catboost",)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        # TabArena's CatBoost space, less its categorical-feature knobs (our features are numbers).
        return {
            "learning_rate": trial.suggest_float("learning_rate", 5e-3, 0.1, log=True),
            "depth": trial.suggest_int("depth", 4, 8),
            "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1e-4, 5.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.7, 1.0),
            "colsample_bylevel": trial.suggest_float("colsample_bylevel", 0.85, 1.0),
        }

    def stops_early(self, target: TargetKind) -> bool:
        return True

    def _booster(self, cls: Any, loss: str) -> Any:
        params = self.booster_params()
        return cls(
            iterations=params.pop("n_estimators"),
            **params,
            loss_function=loss,
            bootstrap_type="Bernoulli",
            early_stopping_rounds=50,
            thread_count=threads.current(),
            random_seed=self.context.seed,
            allow_writing_files=False,  # no catboost_info/ folder in the working directory
            logging_level="Silent",
        )

    def classifier(self) -> Any:
        from catboost import CatBoostClassifier

        return self._booster(CatBoostClassifier, "MultiClass")

    def one_vs_rest(self, estimator: Any) -> Any:
        """The multi-label kind's wrapper: one booster scores every label (MultiLogloss)."""
        return estimator.set_params(loss_function="MultiLogloss")

    def regressor(self) -> Any:
        from catboost import CatBoostRegressor

        return self._booster(CatBoostRegressor, "RMSE")

    def early_stopping_args(self, val: TaskData) -> dict[str, Any]:
        return {"eval_set": (val.tabular(), val.y), "use_best_model": True}

    def rounds(self) -> tuple[int, int] | None:
        model = self.pipeline_[-1]
        losses = next(iter(model.get_evals_result()["validation"].values()))
        return int(model.get_best_iteration()) + 1, len(losses)

    def n_params(self) -> int:
        model = self.pipeline_[-1]
        # Leaf values (one per class or label) and the splits above the leaves, as for the other
        # boosters' node counts.
        leaves = np.asarray(model.get_tree_leaf_counts())
        return int(np.size(model.get_leaf_values()) + (leaves - 1).sum())
