package mappings

// books maps the legacy table books onto the target table of the same name.
var books = ownedByUser("books")
