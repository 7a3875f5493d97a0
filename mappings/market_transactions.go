package mappings

// marketTransactions maps the legacy table market_transactions onto the
// target table of the same name.
var marketTransactions = ownedByUser("market_transactions")
