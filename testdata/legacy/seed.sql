-- Rows that every legacy installation already has (INVENTORY.md section 6): the
-- legacy migrations insert them, so they exist in every flavor with the same content.
-- Apply last, after common.sql + the flavor file (+ drift.sql); see README.md.
--
--   roles 3, entitlements 13, role_entitlements 24, feature_flags 1,
--   onboarding_flows 1, onboarding_steps 5.
--
-- ids of roles, entitlements and feature_flags are random per installation
-- (gen_random_uuid() via the column default): match them by natural key
-- (roles.name, entitlements.name, feature_flags.flag_name), never by id.
-- The onboarding flow and step ids are fixed in the legacy migrations, so they are
-- literal UUIDs here:
--   onboarding_flows  flow_main_v1            bba26d06-2a42-41aa-8b3b-4fa815b9be7d
--   onboarding_steps  step 1 welcome          751373d4-bcff-4c56-8a75-4cf93de6fbdd
--                     step 2 multi_select     cf6ec1e2-684e-4664-8a8e-ea9d606c53e2
--                     step 3 input            1fe65a99-fdec-4081-8939-38cb943d3a25
--                     step 4 tour             889abc1f-1fb9-4ba7-9b33-347502ca1b7b
--                     step 5 completion       8ab3933a-2ba4-443c-bf97-676c7c81b5f8
--
-- Idempotent: re-running it inserts nothing (ON CONFLICT DO NOTHING on the natural
-- keys / primary keys).

INSERT INTO roles (name, description) VALUES
    ('user',      'Regular user: manages their own data'),
    ('admin',     'Administrator: full access to users, content, backups, quests and feedback'),
    ('moderator', 'Moderator: manages quests and feedback, reads and edits users')
ON CONFLICT (name) DO NOTHING;

INSERT INTO entitlements (name, description, resource, action) VALUES
    ('users:read',     'Read user profiles',                 'users',    'read'),
    ('users:write',    'Edit user profiles',                 'users',    'write'),
    ('users:delete',   'Delete users',                       'users',    'delete'),
    ('admin:access',   'Open the admin console',             'admin',    'access'),
    ('admin:users',    'Manage users in the admin console',  'admin',    'users'),
    ('admin:content',  'Manage content in the admin console','admin',    'content'),
    ('admin:backup',   'Create and restore backups',         'admin',    'backup'),
    ('quests:read',    'View quests',                        'quests',   'read'),
    ('quests:write',   'Create and edit quests',             'quests',   'write'),
    ('quests:admin',   'Administer universal quests',        'quests',   'admin'),
    ('feedback:read',  'Read submitted feedback',            'feedback', 'read'),
    ('feedback:write', 'Submit feedback',                    'feedback', 'write'),
    ('feedback:admin', 'Triage and answer feedback',         'feedback', 'admin')
ON CONFLICT (name) DO NOTHING;

-- admin -> all 13; moderator -> 7; user -> 4 (24 rows).
INSERT INTO role_entitlements (role_id, entitlement_id)
SELECT r.id, e.id
FROM (VALUES
        ('admin', 'users:read'), ('admin', 'users:write'), ('admin', 'users:delete'),
        ('admin', 'admin:access'), ('admin', 'admin:users'), ('admin', 'admin:content'),
        ('admin', 'admin:backup'), ('admin', 'quests:read'), ('admin', 'quests:write'),
        ('admin', 'quests:admin'), ('admin', 'feedback:read'), ('admin', 'feedback:write'),
        ('admin', 'feedback:admin'),
        ('moderator', 'admin:access'), ('moderator', 'feedback:admin'), ('moderator', 'feedback:read'),
        ('moderator', 'quests:read'), ('moderator', 'quests:write'), ('moderator', 'users:read'),
        ('moderator', 'users:write'),
        ('user', 'feedback:write'), ('user', 'quests:read'), ('user', 'users:read'),
        ('user', 'users:write')
     ) AS m(role_name, entitlement_name)
JOIN roles r ON r.name = m.role_name
JOIN entitlements e ON e.name = m.entitlement_name
ON CONFLICT (role_id, entitlement_id) DO NOTHING;

INSERT INTO feature_flags (flag_name, enabled, description) VALUES
    ('DISABLE_MASS_LOCAL_PERSISTENCE', true,
     'Keep user data on the server only; do not mirror it into browser local storage')
ON CONFLICT (flag_name) DO NOTHING;

INSERT INTO onboarding_flows (id, name, description, is_active, total_steps) VALUES
    ('bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 'flow_main_v1',
     'Main onboarding flow for new users', true, 5)
ON CONFLICT DO NOTHING;

INSERT INTO onboarding_steps
    (id, flow_id, step_order, step_type, title, description,
     target_selector, target_route, fallback_content, options, allows_multiple, required,
     action_type, action_config)
VALUES
    ('751373d4-bcff-4c56-8a75-4cf93de6fbdd', 'bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 1, 'welcome',
     'Welcome aboard', 'A short tour of focus sessions, habits, quests and your progress.',
     NULL, NULL, NULL, NULL, false, true, NULL, NULL),
    ('cf6ec1e2-684e-4664-8a8e-ea9d606c53e2', 'bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 2, 'multi_select',
     'What are you interested in?', 'Pick as many as you like; we use them to suggest quests and lessons.',
     NULL, NULL, NULL,
     '[{"key": "focus", "label": "Focus & deep work"},
       {"key": "fitness", "label": "Fitness"},
       {"key": "learning", "label": "Learning"},
       {"key": "music_production", "label": "Music production"},
       {"key": "reading", "label": "Reading"},
       {"key": "habits", "label": "Habits"}]'::jsonb,
     true, false, 'save_interests', NULL),
    ('1fe65a99-fdec-4081-8939-38cb943d3a25', 'bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 3, 'input',
     'What should we call you?', 'Your display name, shown on your dashboard.',
     NULL, NULL, NULL, NULL, false, false, 'set_display_name', '{"field": "name", "max_length": 50}'::jsonb),
    ('889abc1f-1fb9-4ba7-9b33-347502ca1b7b', 'bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 4, 'tour',
     'Start a focus session', 'Use the focus timer to work in short, tracked blocks.',
     '[data-tour="focus-timer"]', '/focus', 'The focus timer lives on the Focus page.',
     NULL, false, false, NULL, NULL),
    ('8ab3933a-2ba4-443c-bf97-676c7c81b5f8', 'bba26d06-2a42-41aa-8b3b-4fa815b9be7d', 5, 'completion',
     'You''re all set', 'Onboarding is complete. You can replay it any time from Settings.',
     NULL, '/today', NULL, NULL, false, true, 'complete_onboarding', NULL)
ON CONFLICT DO NOTHING;
