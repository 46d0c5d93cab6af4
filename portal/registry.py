"""Extension points the apps fill in from their AppConfig.ready().

- nav items: the links in the header, per role;
- home cards: what each role must do now, shown on its home page.
The portal app knows nothing about courses or credits; they register here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from portal.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[Role, ...]
    order: int = 100


@dataclass(frozen=True)
class HomeCard:
    role: Role
    title: str
    text: str = ""
    url: str = ""
    link_label: str = ""
    count: int | None = None
    level: str = "secondary"  # a Bootstrap colour: danger, warning, success, ...
    order: int = 100


CardProvider = Callable[..., list[HomeCard]]  # (request, scope, now) -> cards

NAV_ITEMS: list[NavItem] = []
CARD_PROVIDERS: list[CardProvider] = []


def register_nav(*items: NavItem) -> None:
    NAV_ITEMS.extend(items)
    NAV_ITEMS.sort(key=lambda item: item.order)


def register_cards(provider: CardProvider) -> CardProvider:
    CARD_PROVIDERS.append(provider)
    return provider
