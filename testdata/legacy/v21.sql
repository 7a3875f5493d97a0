-- Legacy flavor v21 (newest: legacy migrations 0001-0021): the 7 base tables that
-- are not shared by all flavors. Apply after common.sql (see README.md).
-- 78 base tables in all = 71 (common.sql) + 7 (this file).
-- Source: INVENTORY.md section 2 (market_items, market_recommendations,
-- market_transactions, user_market_purchases, user_rewards, user_wallet,
-- focus_pause_state as shaped by 0016/0017).

CREATE TABLE focus_pause_state (
    id         uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL,
    session_id uuid NOT NULL,
    is_paused  boolean NOT NULL DEFAULT false,
    paused_at  timestamp with time zone,
    resumed_at timestamp with time zone,
    updated_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (session_id)
);

CREATE TABLE market_items (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    name            character varying(255) NOT NULL,
    description     text,
    cost_coins      integer NOT NULL,
    category        character varying(100),
    rarity          character varying(50),
    icon_url        text,
    available       boolean NOT NULL DEFAULT true,
    available_from  timestamp with time zone,
    available_until timestamp with time zone,
    created_at      timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id)
);

CREATE TABLE market_recommendations (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    item_id     uuid NOT NULL,
    score       numeric(3,2),
    reason      character varying(100),
    computed_at timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (user_id, item_id)
);

CREATE TABLE market_transactions (
    id               uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL,
    transaction_type character varying(50) NOT NULL,
    coins_amount     integer NOT NULL,
    reason           character varying(255),
    created_at       timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id)
);

CREATE TABLE user_market_purchases (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    item_id         uuid NOT NULL,
    quantity        integer NOT NULL DEFAULT 1,
    cost_paid_coins integer NOT NULL,
    purchased_at    timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (user_id, item_id)
);

CREATE TABLE user_rewards (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    reward_type  character varying(100) NOT NULL,
    coins_earned integer NOT NULL DEFAULT 0,
    claimed      boolean NOT NULL DEFAULT false,
    claimed_at   timestamp with time zone,
    created_at   timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id)
);

CREATE TABLE user_wallet (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    total_coins  integer NOT NULL DEFAULT 0,
    earned_coins integer NOT NULL DEFAULT 0,
    spent_coins  integer NOT NULL DEFAULT 0,
    updated_at   timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at   timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE (user_id)
);

-- Foreign keys (unnamed: PostgreSQL names them <table>_<column>_fkey).
ALTER TABLE focus_pause_state ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE focus_pause_state ADD FOREIGN KEY (session_id) REFERENCES focus_sessions (id) ON DELETE CASCADE;
ALTER TABLE market_recommendations ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE market_recommendations ADD FOREIGN KEY (item_id) REFERENCES market_items (id) ON DELETE CASCADE;
ALTER TABLE market_transactions ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_market_purchases ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_market_purchases ADD FOREIGN KEY (item_id) REFERENCES market_items (id) ON DELETE RESTRICT;
ALTER TABLE user_rewards ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_wallet ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
