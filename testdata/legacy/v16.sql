-- Legacy flavor v16 (0001-0021 except 0017, the market/wallet rewrite): the 4 base
-- tables that are not shared by all flavors. Apply after common.sql (see README.md).
-- 75 base tables in all = 71 (common.sql) + 4 (this file).
-- market_items, user_purchases, user_wallet: pre-0017 shapes, INVENTORY.md section 3.1
-- (identical to v15.sql). focus_pause_state: per-session shape of 0016, INVENTORY.md
-- section 2 (identical to v21.sql).

CREATE TABLE market_items (
    id                 uuid NOT NULL DEFAULT gen_random_uuid(),
    key                text NOT NULL,
    name               text NOT NULL,
    description        text,
    category           text NOT NULL,
    cost_coins         integer NOT NULL,
    icon               text,
    image_url          text,
    is_global          boolean NOT NULL DEFAULT true,
    is_available       boolean NOT NULL DEFAULT true,
    is_active          boolean NOT NULL DEFAULT true,
    is_consumable      boolean NOT NULL DEFAULT true,
    uses_per_purchase  integer,
    total_stock        integer,
    remaining_stock    integer,
    created_by_user_id uuid,
    sort_order         integer NOT NULL DEFAULT 0,
    created_at         timestamp with time zone NOT NULL DEFAULT now(),
    updated_at         timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (key),
    CHECK ((cost_coins >= 0))
);

CREATE TABLE user_purchases (
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    item_id        uuid NOT NULL,
    cost_coins     integer NOT NULL,
    quantity       integer NOT NULL DEFAULT 1,
    purchased_at   timestamp with time zone NOT NULL DEFAULT now(),
    redeemed_at    timestamp with time zone,
    uses_remaining integer,
    status         text NOT NULL DEFAULT 'purchased'::text,
    refunded_at    timestamp with time zone,
    refund_reason  text,
    PRIMARY KEY (id),
    CHECK ((status = ANY (ARRAY['purchased'::text, 'redeemed'::text, 'refunded'::text, 'expired'::text])))
);

CREATE TABLE user_wallet (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    coins        bigint NOT NULL DEFAULT 0,
    total_earned bigint NOT NULL DEFAULT 0,
    total_spent  bigint NOT NULL DEFAULT 0,
    created_at   timestamp with time zone NOT NULL DEFAULT now(),
    updated_at   timestamp with time zone NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (user_id)
);

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

-- Foreign keys (unnamed: PostgreSQL names them <table>_<column>_fkey).
ALTER TABLE market_items ADD FOREIGN KEY (created_by_user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE user_purchases ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE user_purchases ADD FOREIGN KEY (item_id) REFERENCES market_items (id) ON DELETE RESTRICT;
ALTER TABLE user_wallet ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE focus_pause_state ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE focus_pause_state ADD FOREIGN KEY (session_id) REFERENCES focus_sessions (id) ON DELETE CASCADE;
