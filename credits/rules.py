"""Admin model permissions for credits, as django-rules predicates (loaded from CreditsConfig.ready).

Staff city admins configure their city's rule sets, and the shared topics and
kinds, from the admin alone; they may look at the ledger, certificates and
snapshots but never change them (credits.admin makes those read-only for
everybody, superusers included).
"""

import rules

from portal.rules import city_staff

rules.add_perm("credits", city_staff)
for model in ("ruleset", "topic", "creditkind", "declarationsettings"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"credits.{action}_{model}", city_staff)
for model in ("creditentry", "certificate", "compliancesnapshot"):
    rules.add_perm(f"credits.view_{model}", city_staff)
