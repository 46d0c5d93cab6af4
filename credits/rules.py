"""Admin model permissions for credits, as django-rules predicates (loaded from CreditsConfig.ready).

Staff city admins configure their city's rule sets from the admin alone; the topics and kinds
every city shares are the platform operator's. City admins may look at their city's ledger,
certificates and snapshots but never change them (credits.admin makes those read-only for
everybody, superusers included).
"""

import rules

from portal.rules import city_staff, operator_staff

rules.add_perm("credits", city_staff | operator_staff)
for action in ("view", "add", "change"):
    for model in ("ruleset", "declarationsettings"):
        rules.add_perm(f"credits.{action}_{model}", city_staff)
    for model in ("topic", "creditkind"):
        rules.add_perm(f"credits.{action}_{model}", operator_staff)
for model in ("creditentry", "certificate", "compliancesnapshot"):
    rules.add_perm(f"credits.view_{model}", city_staff)
