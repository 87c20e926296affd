"""Exercise mode: simulated economies with state-sponsored heists, their ground truth, scoring."""

from counterflow.exercise.config import PLAYBOOKS, Playbook, ScenarioConfig, playbook
from counterflow.exercise.scenario import ScenarioSummary, run_scenario
from counterflow.exercise.scoring import Answers, Score, load_answers, parse_answers, score
from counterflow.exercise.truth import GroundTruth, load_ground_truth

__all__ = [
    "PLAYBOOKS",
    "Answers",
    "GroundTruth",
    "Playbook",
    "ScenarioConfig",
    "ScenarioSummary",
    "Score",
    "load_answers",
    "load_ground_truth",
    "parse_answers",
    "playbook",
    "run_scenario",
    "score",
]
