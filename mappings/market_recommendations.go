package mappings

// marketRecommendations archives every row of the legacy table
// market_recommendations: the target has no table for it.
var marketRecommendations = Mapping{Legacy: "market_recommendations", ArchiveAll: true}
