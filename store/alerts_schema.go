package store

// alertsSchema is migration step 4.
const alertsSchema = `CREATE TABLE alerts_placeholder (id INTEGER PRIMARY KEY);`
