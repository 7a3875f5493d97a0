package mappings

// ideas maps the legacy table ideas onto the target table of the same name.
var ideas = ownedByUser("ideas")
