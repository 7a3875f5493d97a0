package mappings

// dailyPlans maps the legacy table daily_plans onto the target table of the
// same name.
var dailyPlans = ownedByUser("daily_plans")
