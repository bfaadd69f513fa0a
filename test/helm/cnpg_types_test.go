package helm_test

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CloudNativePG's Cluster and ScheduledBackup (postgresql.cnpg.io/v1), as a
// minimal schema: only the fields the chart sets, with the names and types
// of CloudNativePG's API reference (cloudnative-pg.io/documentation,
// "API Reference"). CloudNativePG's own Go module cannot be fetched here,
// so a field the chart misspells fails the strict decode, but a field
// CloudNativePG has and this schema lacks fails too: add it here, from the
// reference, when the chart starts to set it.

type cnpgCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName,omitempty"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy,omitempty"`
		Storage               struct {
			Size         string `json:"size"`
			StorageClass string `json:"storageClass,omitempty"`
		} `json:"storage"`
		Bootstrap struct {
			InitDB struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		Backup *struct {
			RetentionPolicy   string `json:"retentionPolicy"`
			BarmanObjectStore struct {
				DestinationPath string `json:"destinationPath"`
				EndpointURL     string `json:"endpointURL,omitempty"`
				S3Credentials   struct {
					AccessKeyID     cnpgSecretKey `json:"accessKeyId"`
					SecretAccessKey cnpgSecretKey `json:"secretAccessKey"`
				} `json:"s3Credentials"`
				Wal struct {
					Compression string `json:"compression"`
				} `json:"wal"`
				Data struct {
					Compression string `json:"compression"`
				} `json:"data"`
			} `json:"barmanObjectStore"`
		} `json:"backup,omitempty"`
	} `json:"spec"`
}

type cnpgSecretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type cnpgScheduledBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Schedule             string `json:"schedule"`
		BackupOwnerReference string `json:"backupOwnerReference"`
		Cluster              struct {
			Name string `json:"name"`
		} `json:"cluster"`
	} `json:"spec"`
}
