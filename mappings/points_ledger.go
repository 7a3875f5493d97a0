package mappings

// pointsLedger maps the legacy table points_ledger onto the target table of
// the same name.
var pointsLedger = ownedByUser("points_ledger")
