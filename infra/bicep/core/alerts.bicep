// Alert rules on the Log Analytics workspace of Application Insights: a stalled materialization (the
// watermark is not committed for longer than the threshold) and failed orchestrations. Both notify one
// action group (e-mail when alertEmail is set; otherwise the alerts show in the portal only).
param namePrefix string
param location string
param tags object
param logAnalyticsWorkspaceId string

@description('E-mail address notified by the alerts. Empty: no e-mail (fired alerts are listed in the portal).')
param alertEmail string

@description('Minutes since the last committed materialization before the lag alert fires.')
param lagThresholdMinutes int

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'eco2mix-ops'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'ops'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource materializationLag 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-materialization-lag'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Materialization lag'
    description: 'No materialization committed for more than ${lagThresholdMinutes} minutes: the timer, the orchestration or Gold SQL is stuck.'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT6H'
    scopes: [
      logAnalyticsWorkspaceId
    ]
    criteria: {
      allOf: [
        {
          query: replace(loadTextContent('alerts/materialization-lag.kql'), '__LAG_THRESHOLD_MINUTES__', string(lagThresholdMinutes))
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource failedOrchestrations 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failed-orchestrations'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Failed orchestrations'
    description: 'A materialization or backfill orchestration ended in failure (the watermark did not advance).'
    severity: 1
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    scopes: [
      logAnalyticsWorkspaceId
    ]
    criteria: {
      allOf: [
        {
          query: loadTextContent('alerts/failed-orchestrations.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource dataFaults 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-data-faults'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Data faults'
    description: 'A revision-history write failed, or region-days were quarantined (the run went on without them).'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    scopes: [
      logAnalyticsWorkspaceId
    ]
    criteria: {
      allOf: [
        {
          query: loadTextContent('alerts/data-faults.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}
