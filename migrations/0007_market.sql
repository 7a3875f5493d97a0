-- +goose Up
-- 0007_market: Market: merged item catalog, purchases (older, richer shape), coin transactions.
-- Shapes follow legacy v21 (legacy/INVENTORY.md section 2) unless spec/TARGET.md says
-- otherwise; decisions are recorded in testdata/schema/REVIEW.md.

-- market_items: merged shape (TARGET.md order); key is the natural key.
CREATE TABLE market_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    description text,
    category text NOT NULL,
    cost_coins integer NOT NULL CHECK (cost_coins >= 0),
    rarity text,
    icon text,
    image_url text,
    is_global boolean NOT NULL DEFAULT true,
    is_available boolean NOT NULL DEFAULT true,
    is_active boolean NOT NULL DEFAULT true,
    is_consumable boolean NOT NULL DEFAULT true,
    uses_per_purchase integer,
    total_stock integer,
    remaining_stock integer,
    available_from timestamptz,
    available_until timestamptz,
    created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_market_items_created_by_user_id ON market_items (created_by_user_id);

-- user_purchases: the older (pre-0017) shape; purchase history of the user (CASCADE); an
-- item that has been bought cannot be deleted (RESTRICT, legacy).
CREATE TABLE user_purchases (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id uuid NOT NULL REFERENCES market_items (id) ON DELETE RESTRICT,
    cost_coins integer NOT NULL,
    quantity integer NOT NULL DEFAULT 1,
    purchased_at timestamptz NOT NULL DEFAULT now(),
    redeemed_at timestamptz,
    uses_remaining integer,
    status text NOT NULL DEFAULT 'purchased' CHECK (status IN ('purchased', 'redeemed', 'refunded', 'expired')),
    refunded_at timestamptz,
    refund_reason text
);

CREATE INDEX idx_user_purchases_user_id ON user_purchases (user_id);
CREATE INDEX idx_user_purchases_item_id ON user_purchases (item_id);

-- market_transactions: coin transaction log (CASCADE).
CREATE TABLE market_transactions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    transaction_type varchar(50) NOT NULL,
    coins_amount integer NOT NULL,
    reason varchar(255),
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_market_transactions_user_id_created_at ON market_transactions (user_id, created_at);
