// The GraphQL documents of the dashboard (field names as in schema.graphql).

const TIMELINE_ENTRY = `fragment DashboardTimelineEntry on TimelineEntry {
  id kind message createdAt cursor actor { id name } }`;

const BID = `fragment DashboardBid on Bid {
  id amount scope status decidedAt createdAt contractor { id name trade } }`;

const ALERT = `fragment DashboardAlert on Alert {
  id kind title body readAt createdAt cursor deal { id name } }`;

export const DEALS = `query DashboardDeals($first: Int!, $after: String) {
  deals(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name status strategy purchasePrice arv updatedAt
      property { id address { city stateOrProvince } }
    } }
  }
}`;

export const DEAL = `query DashboardDeal($id: ID!, $timeline: Int!, $withTimeline: Boolean!) {
  deal(id: $id) {
    id name status strategy purchasePrice estimatedRepairs arv expectedProfit
    property { id address { unparsedAddress city stateOrProvince postalCode } }
    team { role user { id name } }
    constructionProjects { id name budget status }
    timeline(first: $timeline) @include(if: $withTimeline) {
      totalCount edges { node { ...DashboardTimelineEntry } }
    }
  }
}
${TIMELINE_ENTRY}`;

export const PROJECT_BIDS = `query DashboardProjectBids($id: ID!) {
  constructionProject(id: $id) {
    id name budget status
    bids { ...DashboardBid }
  }
}
${BID}`;

export const ALERTS = `query DashboardAlerts($first: Int!) {
  alertUnreadCount
  alerts(first: $first) { edges { node { ...DashboardAlert } } }
}
${ALERT}`;

export const COMMENT_ADD = `mutation DashboardComment($dealId: ID!, $body: String!) {
  timelineCommentAdd(dealId: $dealId, body: $body) {
    entry { ...DashboardTimelineEntry }
    errors { field message code }
  }
}
${TIMELINE_ENTRY}`;

export const BID_AWARD = `mutation DashboardBidAward($id: ID!) {
  bidAward(id: $id) {
    bid { ...DashboardBid }
    errors { field message code }
  }
}
${BID}`;

export const ALERTS_MARK_READ = `mutation DashboardAlertsRead($ids: [ID!]!) {
  alertMarkRead(ids: $ids) {
    alerts { id readAt }
    errors { field message code }
  }
}`;

export const TIMELINE_UPDATED = `subscription DashboardTimeline($dealId: ID!, $since: String) {
  timelineUpdated(dealId: $dealId, since: $since) { ...DashboardTimelineEntry }
}
${TIMELINE_ENTRY}`;

export const BID_UPDATED = `subscription DashboardBids($projectId: ID!, $since: String) {
  bidUpdated(projectId: $projectId, since: $since) { kind cursor bid { ...DashboardBid } }
}
${BID}`;

export const ALERT_RECEIVED = `subscription DashboardAlerts($since: String) {
  alertReceived(since: $since) { ...DashboardAlert }
}
${ALERT}`;
