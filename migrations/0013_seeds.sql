-- +goose Up
-- 0013_seeds: fixed-UUID catalog rows. Every INSERT is idempotent: ON CONFLICT on the
-- natural key DO NOTHING (universal_quests and listening_prompt_templates have no natural
-- key, so they conflict on id). Running this file again changes nothing.
--
-- UUID scheme: 00000000-0000-4000-8000-0000000TTTNN, TTT = catalog, NN = row.
--   001 roles  002 achievement_definitions  003 universal_quests  004 market_items
--   005 learn_topics  006 learn_lessons  007 learn_drills  008 onboarding_flows
--   009 onboarding_steps  010 listening_prompt_templates
--
-- Child rows look their parent up by natural key (not by the seeded id), so they attach to
-- whichever row holds that key.

-- roles (natural key: name)
INSERT INTO roles (id, name, description) VALUES
    ('00000000-0000-4000-8000-000000000101', 'user', 'Standard user'),
    ('00000000-0000-4000-8000-000000000102', 'admin', 'Administrator with full access'),
    ('00000000-0000-4000-8000-000000000103', 'moderator', 'Moderator: content and feedback management')
ON CONFLICT (name) DO NOTHING;

-- achievement_definitions (natural key: key)
INSERT INTO achievement_definitions
    (id, key, name, description, category, icon, trigger_type, trigger_config, reward_coins, reward_xp, is_hidden, sort_order)
VALUES
    ('00000000-0000-4000-8000-000000000201', 'first_focus', 'First Focus', 'Complete your first focus session.',
     'focus', 'timer', 'count', '{"event": "focus_completed", "count": 1}'::jsonb, 10, 25, false, 1),
    ('00000000-0000-4000-8000-000000000202', 'focus_10', 'Deep Worker', 'Complete 10 focus sessions.',
     'focus', 'brain', 'count', '{"event": "focus_completed", "count": 10}'::jsonb, 50, 100, false, 2),
    ('00000000-0000-4000-8000-000000000203', 'habit_streak_7', 'Week Streak', 'Keep a habit going for 7 days in a row.',
     'habits', 'flame', 'streak', '{"streak_type": "habit", "days": 7}'::jsonb, 50, 100, false, 3),
    ('00000000-0000-4000-8000-000000000204', 'first_book', 'Bookworm', 'Finish your first book.',
     'books', 'book', 'count', '{"event": "book_completed", "count": 1}'::jsonb, 25, 50, false, 4),
    ('00000000-0000-4000-8000-000000000205', 'first_workout', 'First Sweat', 'Complete your first workout session.',
     'fitness', 'dumbbell', 'count', '{"event": "workout_completed", "count": 1}'::jsonb, 10, 25, false, 5)
ON CONFLICT (key) DO NOTHING;

-- universal_quests (no natural key: conflict on id)
INSERT INTO universal_quests
    (id, title, description, type, xp_reward, coin_reward, target, target_type, target_config, skill_key, is_active, sort_order)
VALUES
    ('00000000-0000-4000-8000-000000000301', 'Daily Focus', 'Complete one focus session today.',
     'daily', 10, 5, 1, 'focus_sessions', '{"mode": "focus"}'::jsonb, NULL, true, 1),
    ('00000000-0000-4000-8000-000000000302', 'Habit Keeper', 'Complete three habits today.',
     'daily', 15, 5, 3, 'habit_completions', NULL, NULL, true, 2),
    ('00000000-0000-4000-8000-000000000303', 'Weekly Reader', 'Read 100 pages this week.',
     'weekly', 50, 20, 100, 'pages_read', NULL, NULL, true, 3)
ON CONFLICT (id) DO NOTHING;

-- market_items (natural key: key)
INSERT INTO market_items
    (id, key, name, description, category, cost_coins, rarity, icon, is_consumable, uses_per_purchase, sort_order)
VALUES
    ('00000000-0000-4000-8000-000000000401', 'streak-freeze', 'Streak Freeze', 'Protects a streak for one missed day.',
     'power-up', 50, 'common', 'snowflake', true, 1, 1),
    ('00000000-0000-4000-8000-000000000402', 'theme-dark', 'Dark Theme', 'Unlocks the dark colour theme.',
     'theme', 100, 'common', 'moon', false, NULL, 2),
    ('00000000-0000-4000-8000-000000000403', 'coffee-break', 'Coffee Break', 'Treat yourself to a guilt-free coffee break.',
     'reward', 30, 'common', 'coffee', true, 1, 3),
    ('00000000-0000-4000-8000-000000000404', 'movie-night', 'Movie Night', 'An evening off to watch a movie.',
     'reward', 150, 'rare', 'film', true, 1, 4),
    ('00000000-0000-4000-8000-000000000405', 'profile-badge-gold', 'Gold Profile Badge', 'A gold badge on your profile.',
     'cosmetic', 500, 'epic', 'medal', false, NULL, 5)
ON CONFLICT (key) DO NOTHING;

-- learn_topics (natural key: key)
INSERT INTO learn_topics (id, key, name, description, category, icon, sort_order) VALUES
    ('00000000-0000-4000-8000-000000000501', 'ear_training', 'Ear Training',
     'Recognise frequencies, intervals and dynamics by ear.', 'listening', 'ear', 1),
    ('00000000-0000-4000-8000-000000000502', 'mixing_basics', 'Mixing Basics',
     'Gain staging, EQ and compression fundamentals.', 'production', 'sliders', 2)
ON CONFLICT (key) DO NOTHING;

-- learn_lessons (natural key: key); topic_id looked up by topic key
INSERT INTO learn_lessons
    (id, topic_id, key, title, description, content_markdown, duration_minutes, difficulty, xp_reward, coin_reward, sort_order)
SELECT v.id::uuid, t.id, v.key, v.title, v.description, v.content_markdown, v.duration_minutes, v.difficulty,
       v.xp_reward, v.coin_reward, v.sort_order
FROM (VALUES
    ('00000000-0000-4000-8000-000000000601', 'ear_training', 'ear_training_frequency_bands', 'Frequency Bands',
     'The audible spectrum in bands.', '# Frequency bands' || E'\n\n' || 'Lows, mids and highs and what lives in each.',
     5, 'beginner', 15, 5, 1),
    ('00000000-0000-4000-8000-000000000602', 'ear_training', 'ear_training_intervals', 'Intervals',
     'Hearing the distance between two notes.', '# Intervals' || E'\n\n' || 'From the minor second to the octave.',
     8, 'beginner', 15, 5, 2),
    ('00000000-0000-4000-8000-000000000603', 'mixing_basics', 'mixing_gain_staging', 'Gain Staging',
     'Healthy levels through the signal chain.', '# Gain staging' || E'\n\n' || 'Leave headroom at every stage.',
     6, 'beginner', 15, 5, 1),
    ('00000000-0000-4000-8000-000000000604', 'mixing_basics', 'mixing_eq_fundamentals', 'EQ Fundamentals',
     'Cut, boost and the shape of a filter.', '# EQ fundamentals' || E'\n\n' || 'Cut narrow, boost wide.',
     10, 'intermediate', 20, 5, 2)
) AS v (id, topic_key, key, title, description, content_markdown, duration_minutes, difficulty, xp_reward, coin_reward, sort_order)
JOIN learn_topics t ON t.key = v.topic_key
ON CONFLICT (key) DO NOTHING;

-- learn_drills (natural key: key); topic_id looked up by topic key
INSERT INTO learn_drills
    (id, topic_id, key, title, description, drill_type, config_json, difficulty, duration_seconds, xp_reward, sort_order)
SELECT v.id::uuid, t.id, v.key, v.title, v.description, v.drill_type, v.config_json::jsonb, v.difficulty,
       v.duration_seconds, v.xp_reward, v.sort_order
FROM (VALUES
    ('00000000-0000-4000-8000-000000000701', 'ear_training', 'ear_training_band_id', 'Name That Band',
     'Identify the boosted frequency band.', 'frequency_id', '{"bands": [125, 500, 2000, 8000], "boost_db": 6}',
     'beginner', 120, 5, 1),
    ('00000000-0000-4000-8000-000000000702', 'ear_training', 'ear_training_interval_id', 'Interval Quiz',
     'Identify the interval between two notes.', 'interval_id', '{"intervals": ["m3", "M3", "P4", "P5", "P8"]}',
     'beginner', 120, 5, 2),
    ('00000000-0000-4000-8000-000000000703', 'mixing_basics', 'mixing_level_match', 'Level Match',
     'Match the loudness of two clips.', 'level_match', '{"tolerance_db": 1}',
     'beginner', 90, 5, 1),
    ('00000000-0000-4000-8000-000000000704', 'mixing_basics', 'mixing_eq_cut_or_boost', 'Cut or Boost?',
     'Decide whether a band was cut or boosted.', 'eq_direction', '{"gain_db": [-6, 6]}',
     'intermediate', 120, 8, 2)
) AS v (id, topic_key, key, title, description, drill_type, config_json, difficulty, duration_seconds, xp_reward, sort_order)
JOIN learn_topics t ON t.key = v.topic_key
ON CONFLICT (key) DO NOTHING;

-- onboarding_flows (natural key: name)
INSERT INTO onboarding_flows (id, name, description, is_active, total_steps) VALUES
    ('00000000-0000-4000-8000-000000000801', 'flow_main_v1', 'Main onboarding flow', true, 5)
ON CONFLICT (name) DO NOTHING;

-- onboarding_steps (natural key: flow_id, step_order); flow_id looked up by flow name
INSERT INTO onboarding_steps
    (id, flow_id, step_order, step_type, title, description, target_route, options, allows_multiple, required)
SELECT v.id::uuid, f.id, v.step_order, v.step_type, v.title, v.description, v.target_route, v.options::jsonb,
       v.allows_multiple, v.required
FROM (VALUES
    ('00000000-0000-4000-8000-000000000901', 1, 'welcome', 'Welcome', 'A quick tour of what you can do here.',
     NULL, NULL, false, true),
    ('00000000-0000-4000-8000-000000000902', 2, 'multi_select', 'What are you interested in?',
     'Pick the areas you want to work on.', NULL,
     '[{"key": "focus", "label": "Focus"}, {"key": "habits", "label": "Habits"}, {"key": "fitness", "label": "Fitness"}, {"key": "books", "label": "Reading"}, {"key": "learn", "label": "Learning"}]',
     true, false),
    ('00000000-0000-4000-8000-000000000903', 3, 'input', 'Your first goal', 'Name one thing you want to achieve.',
     NULL, NULL, false, false),
    ('00000000-0000-4000-8000-000000000904', 4, 'tour', 'Your Today page', 'Everything for the day in one place.',
     '/today', NULL, false, true),
    ('00000000-0000-4000-8000-000000000905', 5, 'completion', 'All set', 'You are ready to go.',
     NULL, NULL, false, true)
) AS v (id, step_order, step_type, title, description, target_route, options, allows_multiple, required)
JOIN onboarding_flows f ON f.name = 'flow_main_v1'
ON CONFLICT (flow_id, step_order) DO NOTHING;

-- listening_prompt_templates (no natural key: conflict on id)
INSERT INTO listening_prompt_templates
    (id, name, description, category, difficulty, prompt_text, hints, expected_observations, tags, display_order, is_active)
VALUES
    ('00000000-0000-4000-8000-000000001001', 'Low-end balance', 'Listen to how kick and bass share the low end.',
     'frequency', 'beginner', 'Where do the kick and the bass sit relative to each other below 150 Hz?',
     '["Focus on the first beat of each bar", "Compare the sustain of kick and bass"]'::jsonb,
     '["Which element is louder in the sub range", "Whether they mask each other"]'::jsonb,
     '["low-end", "kick", "bass"]'::jsonb, 1, true),
    ('00000000-0000-4000-8000-000000001002', 'Dynamics over time', 'Follow the loudness across sections.',
     'dynamics', 'intermediate', 'How does the perceived loudness change from verse to chorus?',
     '["Listen to the drums first", "Notice what is added in the chorus"]'::jsonb,
     '["Loudness difference between sections", "Use of compression or automation"]'::jsonb,
     '["dynamics", "arrangement"]'::jsonb, 2, true),
    ('00000000-0000-4000-8000-000000001003', 'Stereo image', 'Map the elements across the stereo field.',
     'spatial', 'beginner', 'Which elements are panned wide and which sit in the centre?',
     '["Close your eyes and point to each element"]'::jsonb,
     '["Centre elements", "Wide elements", "Depth cues such as reverb"]'::jsonb,
     '["stereo", "panning"]'::jsonb, 3, true)
ON CONFLICT (id) DO NOTHING;
