package store

// discoverySchema is migration step 5.
const discoverySchema = `CREATE TABLE discovered_placeholder (id INTEGER PRIMARY KEY);`
