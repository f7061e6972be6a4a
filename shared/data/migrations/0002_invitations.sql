-- Invitations: an organization admin invites someone, by e-mail or by account id, and nothing
-- is granted until the invitee accepts (the membership is made then). An invitation by e-mail
-- is matched to whoever holds an account with that e-mail when they look, so an address with
-- no account yet is claimed by registering it.

CREATE TABLE organization_invitations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Stored normalized as users.email (domain lowercased); matched case-insensitively.
    email           varchar(254) CHECK (email <> ''),
    -- An invitation by account id. No foreign key: an id without an account is stored like
    -- any other, so the answer to the admin does not reveal which ids exist.
    user_id         uuid,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member', 'viewer')),
    invited_by_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'revoked': superseded when the invitee accepted another invitation to the organization.
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    responded_at    timestamptz,
    CHECK ((email IS NULL) <> (user_id IS NULL)),
    CHECK ((state = 'pending') = (responded_at IS NULL))
);
-- One open invitation per address (or account id) and organization: inviting again renews it.
CREATE UNIQUE INDEX organization_invitations_pending_email_key
    ON organization_invitations (organization_id, lower(email))
    WHERE state = 'pending' AND email IS NOT NULL;
CREATE UNIQUE INDEX organization_invitations_pending_user_key
    ON organization_invitations (organization_id, user_id)
    WHERE state = 'pending' AND user_id IS NOT NULL;
-- "My invitations" looks up by e-mail or by account id.
CREATE INDEX organization_invitations_email_idx
    ON organization_invitations (lower(email)) WHERE state = 'pending';
CREATE INDEX organization_invitations_user_idx
    ON organization_invitations (user_id) WHERE state = 'pending';
CREATE INDEX organization_invitations_org_idx ON organization_invitations (organization_id, created_at DESC);
CREATE INDEX organization_invitations_invited_by_idx ON organization_invitations (invited_by_id);
