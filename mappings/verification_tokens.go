package mappings

// verificationTokens discards every row of the legacy table
// verification_tokens: the target keeps none of it.
var verificationTokens = Mapping{
	// The key names the row without its secret: a one-time token never
	// reaches the target, not even the bookkeeping.
	Legacy: "verification_tokens", Key: []string{"identifier", "token"}, DiscardAll: ReasonCredentialToken,
	KeySQL: `s.identifier || ',sha256:' || encode(sha256(convert_to(s.token, 'UTF8')), 'hex')`,
}
