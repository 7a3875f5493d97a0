#!/bin/bash
# single-write.sh: one round of the single-write experiment of
# docs/PERF-NOTES.md section 3, on habit_completions, one statement at a
# time (no other load), each step's wall time in milliseconds.
#
#   LEGACY_URL   a generated legacy database (cutover legacy generate --drift
#                --anomalies; the 10M figures used --users 22000)
#   SCRATCH_URL  an empty database on the target's server, reused by every
#                round (the script drops and creates its tables)
#
# It times, for the same rows:
#   raw  the raw pipe: COPY … TO | COPY … FROM into an unindexed table
#   A    today's first run: stage copy, decision table, target insert from
#        it, the target's indexes, the ledger insert and its primary key
#   B    the single-write design of PERF-NOTES: the full rows copied
#        straight into the target table, a narrow stage (keys and
#        references) to decide on, the rows decided otherwise deleted
#   C    as B without the narrow stage: the decisions read the target
#        table itself
#   D    today's decision table written through a COPY pipe instead of
#        CREATE TABLE AS (COPY FROM inserts rows in batches)
#   L    today's decision table written logged (as a table the ledger
#        could adopt in place of its insert)
#   P    what pgcopydb does: copy, indexes, VACUUM ANALYZE
# The decision statement is the run's for habit_completions, its messages
# shortened (its two parents' decision tables are built from the legacy
# rows, all loaded).
set -euo pipefail
: "${LEGACY_URL:?}" "${SCRATCH_URL:?}"
SRC=(psql -X -q -v ON_ERROR_STOP=1 "$LEGACY_URL")
DST=(psql -X -q -v ON_ERROR_STOP=1 "$SCRATCH_URL")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
step() { local label=$1 s; shift; s=$(ms); "$@" >/dev/null; echo "$label $(( $(ms) - s ))"; }
pipe() { "${SRC[@]}" -c "$1" | "${DST[@]}" -c "$2"; }
pipe_dst() { "${DST[@]}" -c "$1" | "${DST[@]}" -c "$2"; }
cols='id, habit_id, user_id, completed_at, completed_date, notes'
row='(id uuid NOT NULL, habit_id uuid NOT NULL, user_id uuid NOT NULL, completed_at timestamptz NOT NULL, completed_date date NOT NULL, notes text)'
ledger_row='(legacy_table text COLLATE "C" NOT NULL, legacy_key text COLLATE "C" NOT NULL, mapping text NOT NULL,
	disposition text NOT NULL, reason text, target_table text COLLATE "C", target_id uuid, run_id bigint NOT NULL)'
unlogged='WITH (autovacuum_enabled = false)'

"${DST[@]}" -c 'DROP SCHEMA IF EXISTS sw CASCADE' 2>/dev/null
"${DST[@]}" -c "CREATE SCHEMA sw; SET search_path = sw;
	CREATE UNLOGGED TABLE d_users (_k uuid, _disp text, _tid uuid, _uid uuid) $unlogged;
	CREATE UNLOGGED TABLE d_habits (_k uuid, _disp text, _tid uuid, _uid uuid) $unlogged;
	CREATE TABLE raw_hc (id uuid, habit_id uuid, user_id uuid, completed_at timestamptz, completed_date date, notes text);
	CREATE UNLOGGED TABLE stage_hc $row $unlogged;
	CREATE UNLOGGED TABLE narrow_hc (id uuid, habit_id uuid, user_id uuid, completed_date date) $unlogged;
	CREATE TABLE hc_a $row; CREATE TABLE hc_b $row; CREATE TABLE hc_c $row; CREATE TABLE hc_p $row;
	CREATE TABLE led_a $ledger_row; CREATE TABLE led_b $ledger_row; CREATE TABLE led_c $ledger_row"
pipe "COPY (SELECT id, 'loaded', id, NULL::uuid FROM users) TO STDOUT" 'COPY sw.d_users FROM STDIN'
pipe "COPY (SELECT id, 'loaded', id, user_id FROM habits) TO STDOUT" 'COPY sw.d_habits FROM STDIN'
"${DST[@]}" -c 'ANALYZE sw.d_users; ANALYZE sw.d_habits; CHECKPOINT'
"${SRC[@]}" -c 'CHECKPOINT'

# decide SOURCE [EXTRA]: the run's decision query for habit_completions
# over SOURCE, with EXTRA columns (the target values it carries).
decide() {
	cat <<SQL
SELECT s.id AS _k,
	CASE WHEN s.habit_id IS NOT NULL AND NOT s._src_habit_id THEN 'rejected'
		WHEN s.user_id IS NOT NULL AND NOT s._src_user_id THEN 'rejected'
		WHEN s.habit_id IS NOT NULL AND NOT s._tgt_habit_id THEN 'rejected'
		WHEN s.user_id IS NOT NULL AND NOT s._tgt_user_id THEN 'rejected'
		WHEN s.habit_id IS NOT NULL AND s._own_habit_id IS DISTINCT FROM s.user_id THEN 'rejected'
		ELSE 'loaded' END::text AS _disp,
	CASE WHEN s.habit_id IS NOT NULL AND NOT s._src_habit_id THEN 'orphan'
		WHEN s.user_id IS NOT NULL AND NOT s._src_user_id THEN 'orphan'
		WHEN s.habit_id IS NOT NULL AND NOT s._tgt_habit_id THEN 'parent_rejected'
		WHEN s.user_id IS NOT NULL AND NOT s._tgt_user_id THEN 'parent_rejected'
		WHEN s.habit_id IS NOT NULL AND s._own_habit_id IS DISTINCT FROM s.user_id THEN 'tenant_mismatch'
		END::text AS _reason,
	CASE WHEN s.habit_id IS NOT NULL AND NOT s._src_habit_id THEN format('habit_id %s points at no row of habits', s.habit_id)
		WHEN s.user_id IS NOT NULL AND NOT s._src_user_id THEN format('user_id %s points at no row of users', s.user_id)
		WHEN s.habit_id IS NOT NULL AND NOT s._tgt_habit_id THEN format('habit_id %s: that habits row does not reach the target', s.habit_id)
		WHEN s.user_id IS NOT NULL AND NOT s._tgt_user_id THEN format('user_id %s: that users row does not reach the target', s.user_id)
		WHEN s.habit_id IS NOT NULL AND s._own_habit_id IS DISTINCT FROM s.user_id THEN format('habit_id %s belongs to user %s, but this row to user %s', s.habit_id, s._own_habit_id, s.user_id)
		END::text AS _msg,
	CASE WHEN s.habit_id IS NOT NULL AND NOT s._src_habit_id THEN NULL::uuid
		WHEN s.user_id IS NOT NULL AND NOT s._src_user_id THEN NULL::uuid
		WHEN s.habit_id IS NOT NULL AND NOT s._tgt_habit_id THEN NULL::uuid
		WHEN s.user_id IS NOT NULL AND NOT s._tgt_user_id THEN NULL::uuid
		WHEN s.habit_id IS NOT NULL AND s._own_habit_id IS DISTINCT FROM s.user_id THEN NULL::uuid
		ELSE s.id END AS _tid,
	s._ref_user_id AS _uid, s._ctid, s.completed_date AS _x_completed_date, s._ref_habit_id AS _x_habit_id $2
FROM (SELECT s.*, s.ctid AS _ctid,
		CASE WHEN p0._disp IN ('loaded', 'folded', 'merged') THEN p0._tid END AS _ref_habit_id,
		coalesce(p0._disp IN ('loaded', 'folded', 'merged'), false) AS _tgt_habit_id,
		p0._k IS NOT NULL AS _src_habit_id, p0._uid AS _own_habit_id,
		CASE WHEN p1._disp IN ('loaded', 'folded', 'merged') THEN p1._tid END AS _ref_user_id,
		coalesce(p1._disp IN ('loaded', 'folded', 'merged'), false) AS _tgt_user_id,
		p1._k IS NOT NULL AS _src_user_id
	FROM sw.$1 s LEFT JOIN sw.d_habits p0 ON p0._k = s.habit_id LEFT JOIN sw.d_users p1 ON p1._k = s.user_id) s
SQL
}
carried=', s.completed_at AS _v_completed_at, s.notes AS _v_notes'
# The run's ledger insert (unsorted, into a bare table) and its key.
ledger() {
	echo "INSERT INTO sw.$2 SELECT 'habit_completions', _k::text, 'habit_completions', _disp, _reason,
		CASE WHEN _tid IS NOT NULL THEN 'habit_completions' END, _tid, 1 FROM sw.$1"
}
indexes() {
	echo "ALTER TABLE sw.$1 ADD UNIQUE (habit_id, completed_date); ALTER TABLE sw.$1 ADD PRIMARY KEY (id);
		CREATE INDEX ON sw.$1 (user_id)"
}

step "raw: copy" pipe "COPY habit_completions ($cols) TO STDOUT (FORMAT binary)" 'COPY sw.raw_hc FROM STDIN (FORMAT binary)'

step "A: stage copy" pipe "COPY habit_completions ($cols) TO STDOUT (FORMAT binary)" 'COPY sw.stage_hc FROM STDIN (FORMAT binary)'
step "A: stage analyze" "${DST[@]}" -c 'SET default_statistics_target = 10; ANALYZE sw.stage_hc (id, user_id, habit_id)'
step "A: decide" "${DST[@]}" -c "CREATE UNLOGGED TABLE sw.d_hc $unlogged AS $(decide stage_hc "$carried")"
step "A: decision index" "${DST[@]}" -c 'CREATE INDEX ON sw.d_hc (_x_habit_id, _x_completed_date)'
step "A: target insert" "${DST[@]}" -c "INSERT INTO sw.hc_a SELECT _tid, _x_habit_id, _uid, _v_completed_at, _x_completed_date, _v_notes
	FROM sw.d_hc WHERE _disp = 'loaded'"
step "A: target indexes" "${DST[@]}" -c "$(indexes hc_a)"
step "A: ledger insert" "${DST[@]}" -c "$(ledger d_hc led_a)"
step "A: ledger key" "${DST[@]}" -c 'ALTER TABLE sw.led_a ADD PRIMARY KEY (legacy_key, legacy_table)'

step "B: direct copy" pipe "COPY habit_completions ($cols) TO STDOUT (FORMAT binary)" 'COPY sw.hc_b FROM STDIN (FORMAT binary)'
step "B: narrow copy" pipe 'COPY (SELECT id, habit_id, user_id, completed_date FROM habit_completions) TO STDOUT (FORMAT binary)' 'COPY sw.narrow_hc FROM STDIN (FORMAT binary)'
step "B: narrow analyze" "${DST[@]}" -c 'SET default_statistics_target = 10; ANALYZE sw.narrow_hc (id, user_id, habit_id)'
step "B: decide" "${DST[@]}" -c "CREATE UNLOGGED TABLE sw.dn_hc $unlogged AS $(decide narrow_hc '')"
step "B: decision index" "${DST[@]}" -c 'CREATE INDEX ON sw.dn_hc (_x_habit_id, _x_completed_date)'
step "B: target indexes" "${DST[@]}" -c "$(indexes hc_b)"
step "B: delete the others" "${DST[@]}" -c "DELETE FROM sw.hc_b WHERE id IN (SELECT _k FROM sw.dn_hc WHERE _disp <> 'loaded')"
step "B: ledger insert" "${DST[@]}" -c "$(ledger dn_hc led_b)"
step "B: ledger key" "${DST[@]}" -c 'ALTER TABLE sw.led_b ADD PRIMARY KEY (legacy_key, legacy_table)'

step "C: direct copy" pipe "COPY habit_completions ($cols) TO STDOUT (FORMAT binary)" 'COPY sw.hc_c FROM STDIN (FORMAT binary)'
step "C: analyze" "${DST[@]}" -c 'SET default_statistics_target = 10; ANALYZE sw.hc_c (id, user_id, habit_id)'
step "C: decide" "${DST[@]}" -c "CREATE UNLOGGED TABLE sw.dc_hc $unlogged AS $(decide hc_c '')"
step "C: decision index" "${DST[@]}" -c 'CREATE INDEX ON sw.dc_hc (_x_habit_id, _x_completed_date)'
step "C: target indexes" "${DST[@]}" -c "$(indexes hc_c)"
step "C: delete the others" "${DST[@]}" -c "DELETE FROM sw.hc_c WHERE id IN (SELECT _k FROM sw.dc_hc WHERE _disp <> 'loaded')"
step "C: ledger insert" "${DST[@]}" -c "$(ledger dc_hc led_c)"
step "C: ledger key" "${DST[@]}" -c 'ALTER TABLE sw.led_c ADD PRIMARY KEY (legacy_key, legacy_table)'

step "L: decide into a logged table" "${DST[@]}" -c "CREATE TABLE sw.dl_hc AS $(decide stage_hc "$carried")"

"${DST[@]}" -c "CREATE UNLOGGED TABLE sw.dd_hc $unlogged AS $(decide stage_hc "$carried") LIMIT 0"
step "D: decide through COPY" pipe_dst "COPY ($(decide stage_hc "$carried")) TO STDOUT (FORMAT binary)" 'COPY sw.dd_hc FROM STDIN (FORMAT binary)'

step "P: copy" pipe "COPY habit_completions ($cols) TO STDOUT (FORMAT binary)" 'COPY sw.hc_p FROM STDIN (FORMAT binary)'
step "P: indexes" "${DST[@]}" -c "$(indexes hc_p)"
step "P: vacuum analyze" "${DST[@]}" -c 'VACUUM ANALYZE sw.hc_p'

# The paths must agree on the rows loaded, or the figures compare nothing.
"${DST[@]}" -At -c "SELECT 'rows loaded: A ' || (SELECT count(*) FROM sw.hc_a) || ', B ' || (SELECT count(*) FROM sw.hc_b)
	|| ', C ' || (SELECT count(*) FROM sw.hc_c) || '; rows that differ: '
	|| (SELECT count(*) FROM sw.hc_a a FULL JOIN sw.hc_b b USING (id) WHERE a IS DISTINCT FROM b)
	+ (SELECT count(*) FROM sw.hc_a a FULL JOIN sw.hc_c c USING (id) WHERE a IS DISTINCT FROM c)
	+ (SELECT count(*) FROM (TABLE sw.d_hc EXCEPT ALL TABLE sw.dd_hc) x)"
"${DST[@]}" -q -c 'SET client_min_messages = warning; DROP SCHEMA sw CASCADE'
