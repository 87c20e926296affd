"""What a scenario is made of: its size, its clock, and the heists laundered through it.

Playbooks are drawn from public reporting on DPRK operations. Each is a preset of the same
laundering machine (drain → split across hop wallets → swap tokens for ETH → mixer → bridge to
Bitcoin → peel chains and CoinJoin → consolidation → cash-out at exchanges and an OTC desk);
what differs is the victim, the assets, how wide and deep the split is, which steps are taken
and how long the cash-out drags on. Every field can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from counterflow.errors import ConfigError

ETHER = 10**18
USD_UNIT = 10**6  # the stablecoin's base unit
BTC = 10**8


@dataclass(frozen=True)
class Playbook:
    """One heist and how its proceeds are laundered.

    Amounts are in base units (wei, stablecoin units). Times are hours after the theft.
    Fractions are of what reaches that step.
    """

    name: str
    description: str
    victim: str  # "exchange" (a cold wallet contract), "bridge", "hot-wallet" or "wallets"
    stolen_eth: int
    stolen_lst: int
    stolen_usd: int
    split_wallets: int  # first-level hop wallets
    hop_levels: int  # levels of hop wallets before the laundering steps
    swap: bool  # tokens are swapped for ETH on the DEX
    mixer_share: float  # of the ETH, through the mixer
    bridge_share: float  # of the ETH (after mixing), bridged to Bitcoin
    peel_steps: int  # length of each Bitcoin peel chain
    coinjoin_rounds: int
    otc_share: float  # of what is cashed out, through the OTC desk
    exchanges: int  # how many exchanges receive cash-out deposits
    cash_out_start_h: float
    cash_out_days: float
    start_after_days: float = 1.0  # the theft, counted from the scenario's start


PLAYBOOKS: dict[str, Playbook] = {
    p.name: p
    for p in (
        Playbook(
            name="bybit-2025",
            description="Cold-wallet drain of a large exchange (ETH and staked ETH), split "
            "over dozens of wallets, tokens swapped to ETH, bridged to Bitcoin, cashed out "
            "over weeks (February 2025).",
            victim="exchange",
            stolen_eth=9_000 * ETHER,
            stolen_lst=6_000 * ETHER,
            stolen_usd=0,
            split_wallets=40,
            hop_levels=2,
            swap=True,
            mixer_share=0.1,
            bridge_share=0.55,
            peel_steps=6,
            coinjoin_rounds=3,
            otc_share=0.25,
            exchanges=4,
            cash_out_start_h=48,
            cash_out_days=9,
        ),
        Playbook(
            name="ronin-2022",
            description="Bridge validator-key compromise: ETH and stablecoin withdrawn from the "
            "bridge, stablecoin swapped to ETH, heavy mixer use, then Bitcoin (March 2022).",
            victim="bridge",
            stolen_eth=6_000 * ETHER,
            stolen_lst=0,
            stolen_usd=8_000_000 * USD_UNIT,
            split_wallets=12,
            hop_levels=2,
            swap=True,
            mixer_share=0.6,
            bridge_share=0.4,
            peel_steps=5,
            coinjoin_rounds=2,
            otc_share=0.2,
            exchanges=3,
            cash_out_start_h=72,
            cash_out_days=8,
        ),
        Playbook(
            name="harmony-2022",
            description="Bridge multisig compromise; proceeds swapped to ETH, mixed in 100 ETH "
            "lots, bridged to Bitcoin and peeled to exchanges (June 2022).",
            victim="bridge",
            stolen_eth=2_500 * ETHER,
            stolen_lst=0,
            stolen_usd=3_000_000 * USD_UNIT,
            split_wallets=16,
            hop_levels=1,
            swap=True,
            mixer_share=0.7,
            bridge_share=0.5,
            peel_steps=8,
            coinjoin_rounds=1,
            otc_share=0.1,
            exchanges=3,
            cash_out_start_h=96,
            cash_out_days=7,
        ),
        Playbook(
            name="atomic-2023",
            description="Many users' wallets drained at once (compromised wallet software), "
            "consolidated, swapped and cashed out through exchanges and OTC (June 2023).",
            victim="wallets",
            stolen_eth=1_200 * ETHER,
            stolen_lst=0,
            stolen_usd=2_500_000 * USD_UNIT,
            split_wallets=20,
            hop_levels=1,
            swap=True,
            mixer_share=0.2,
            bridge_share=0.35,
            peel_steps=4,
            coinjoin_rounds=2,
            otc_share=0.35,
            exchanges=4,
            cash_out_start_h=24,
            cash_out_days=6,
        ),
        Playbook(
            name="stake-2023",
            description="Hot-wallet drain of a casino's ETH and stablecoin, quick hops and "
            "swaps, bridged to Bitcoin within days (September 2023).",
            victim="hot-wallet",
            stolen_eth=1_500 * ETHER,
            stolen_lst=0,
            stolen_usd=4_000_000 * USD_UNIT,
            split_wallets=10,
            hop_levels=2,
            swap=True,
            mixer_share=0.0,
            bridge_share=0.6,
            peel_steps=5,
            coinjoin_rounds=1,
            otc_share=0.2,
            exchanges=3,
            cash_out_start_h=36,
            cash_out_days=5,
        ),
        Playbook(
            name="wazirx-2024",
            description="Exchange multisig drain (ETH, staked ETH, stablecoin), tokens swapped "
            "to ETH, mixed in 100 ETH lots over weeks (July 2024).",
            victim="exchange",
            stolen_eth=3_000 * ETHER,
            stolen_lst=1_500 * ETHER,
            stolen_usd=5_000_000 * USD_UNIT,
            split_wallets=24,
            hop_levels=2,
            swap=True,
            mixer_share=0.5,
            bridge_share=0.3,
            peel_steps=5,
            coinjoin_rounds=2,
            otc_share=0.15,
            exchanges=3,
            cash_out_start_h=120,
            cash_out_days=8,
        ),
    )
}

DEFAULT_PLAYBOOKS = ("bybit-2025",)


@dataclass(frozen=True)
class ScenarioConfig:
    """Everything that decides a scenario's bytes: the same config gives the same files."""

    seed: int = 1
    transfers: int = 200_000
    days: float = 14.0
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    playbooks: tuple[Playbook, ...] = field(
        default_factory=lambda: tuple(PLAYBOOKS[n] for n in DEFAULT_PLAYBOOKS)
    )
    bitcoin_share: float = 0.55  # of the background's transfers
    exchanges: int = 6
    first_bitcoin_block: int = 930_000
    first_ethereum_block: int = 24_100_000

    def __post_init__(self) -> None:
        if self.transfers < 1_000:
            raise ConfigError(f"--transfers must be at least 1000 (got {self.transfers})")
        if not 0.5 <= self.days <= 366:
            raise ConfigError(f"--days must be between 0.5 and 366 (got {self.days})")
        if self.start.tzinfo is None or self.start.utcoffset() != UTC.utcoffset(None):
            raise ConfigError("the scenario start must be a UTC time")
        for playbook in self.playbooks:
            last = playbook.start_after_days + (playbook.cash_out_start_h / 24)
            if last + playbook.cash_out_days > self.days:
                raise ConfigError(
                    f"playbook {playbook.name} needs {last + playbook.cash_out_days:.1f} days "
                    f"(theft, laundering and cash-out) but the scenario lasts {self.days:g}; "
                    "raise --days"
                )
        if len({p.name for p in self.playbooks}) != len(self.playbooks):
            raise ConfigError("a playbook is named twice; give each heist once")

    @property
    def users(self) -> int:
        """Users scale with the economy: about 40 transfers per user per scenario."""
        return max(2_000, self.transfers // 40)


def playbook(name: str, **overrides: object) -> Playbook:
    """The named playbook, with any of its fields overridden."""
    try:
        base = PLAYBOOKS[name]
    except KeyError:
        raise ConfigError(
            f"no playbook named {name!r}; choose from {', '.join(sorted(PLAYBOOKS))}"
        ) from None
    return replace(base, **overrides)  # type: ignore[arg-type]
